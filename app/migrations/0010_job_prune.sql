-- Ended jobs are kept a week for the pages and logs that show them, then deleted, or the table and
-- its claim index grow with every mail forever. Like the claim, pruning crosses organisations.
CREATE INDEX jobs_ended_idx ON jobs (finished_at) WHERE state IN ('done', 'failed');

CREATE FUNCTION prune_jobs(p_keep_days integer)
RETURNS integer LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    WITH gone AS (
        DELETE FROM jobs
        WHERE state IN ('done', 'failed') AND finished_at < now() - make_interval(days => p_keep_days)
        RETURNING 1
    )
    SELECT count(*)::integer FROM gone
$$;
