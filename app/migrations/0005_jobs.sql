-- Durable jobs (issue 7): enqueued in the transaction of the change that needs them, claimed by any
-- number of workers with FOR UPDATE SKIP LOCKED, held under a lease, retried with back-off.

CREATE TABLE jobs (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id          bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (length(kind) BETWEEN 1 AND 100),
    payload         jsonb NOT NULL DEFAULT '{}',
    state           text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed')),
    -- claims so far; a claim past max_attempts means the last attempt's worker died (app/jobs.py)
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts    integer NOT NULL DEFAULT 5 CHECK (max_attempts > 0),
    run_at          timestamptz NOT NULL DEFAULT now(),  -- not before
    locked_until    timestamptz,  -- the running worker's lease; once past, another worker takes the job
    locked_by       text,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    -- lets a row point at its job within the organisation (a reply at its send job); also the
    -- index under org_id's foreign key
    UNIQUE (org_id, id),
    CHECK ((state = 'running') = (locked_until IS NOT NULL))
);

-- The claim (claim_jobs below): jobs that may run, oldest due first. Running jobs stay in the
-- index so an expired lease is found; there are only as many as workers are running.
CREATE INDEX jobs_due_idx ON jobs (run_at, id) WHERE state IN ('queued', 'running');

ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON jobs USING (org_id = current_org_id());

-- Workers claim across organisations, so the claim is the one cross-tenant step; finishing,
-- failing and reading a job happen in the job's organisation under row-level security.
-- Takes queued jobs whose run_at has come and running jobs whose lease expired (a crashed worker's).
CREATE FUNCTION claim_jobs(p_kinds text[], p_worker text, p_lease_seconds integer, p_limit integer)
RETURNS SETOF jobs LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    UPDATE jobs j SET
        state = 'running',
        attempts = j.attempts + 1,
        locked_until = now() + make_interval(secs => p_lease_seconds),
        locked_by = p_worker,
        last_error = CASE WHEN j.state = 'running'
                          THEN format('lease expired: worker %s stopped during attempt %s', j.locked_by, j.attempts)
                          ELSE j.last_error END
    FROM (
        SELECT id FROM jobs
        WHERE state IN ('queued', 'running') AND kind = ANY (p_kinds)
          AND ((state = 'queued' AND run_at <= now()) OR (state = 'running' AND locked_until <= now()))
        ORDER BY run_at, id
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    ) due
    WHERE j.id = due.id
    RETURNING j.*
$$;
