-- IMAP polling (issue 7), for teams that cannot forward their mail: a mailbox may name an IMAP
-- server; a worker fetches its unseen mail, stores it as the SMTP ingress does, and only then
-- marks it \Seen on the server (app/mail/imap.py).

-- What an admin set. The password is encrypted with MAIL_PASSWORD_KEY (Fernet) before it gets here.
CREATE TABLE channel_imap (
    org_id              bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    channel_id          bigint NOT NULL,
    host                text NOT NULL CHECK (host ~ '^[A-Za-z0-9.:-]{1,253}$'),
    port                integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
    -- none only to a loopback host (checked in app/mail/imap.py): a password never crosses a network in clear
    security            text NOT NULL CHECK (security IN ('tls', 'starttls', 'none')),
    username            text NOT NULL CHECK (length(username) BETWEEN 1 AND 254),
    password_encrypted  bytea NOT NULL,
    folder              text NOT NULL DEFAULT 'INBOX' CHECK (length(folder) BETWEEN 1 AND 200),
    enabled             boolean NOT NULL DEFAULT true,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, channel_id),
    FOREIGN KEY (org_id, channel_id) REFERENCES channels (org_id, id) ON DELETE CASCADE
);

-- When each mailbox is polled next, by which job, and how its last poll went. Bookkeeping that
-- changes every poll: no event per poll (a minute's heartbeat per mailbox would flood the log);
-- the channel's settings page reads it when it loads.
CREATE TABLE imap_polls (
    org_id          bigint NOT NULL,
    channel_id      bigint NOT NULL,
    next_poll_at    timestamptz NOT NULL DEFAULT now(),
    -- the poll job queued or running for this mailbox: no second is queued while it is unfinished
    job_id          bigint,
    last_polled_at  timestamptz,  -- the last poll that reached the folder, whatever came of the mails
    -- what went wrong last (app/mail/imap.py ERRORS says it in words), and the server's or system's own words
    last_error_kind text CHECK (last_error_kind IN ('connect', 'tls', 'login', 'folder', 'key', 'store', 'server',
                                                    'too_big')),
    last_error      text CHECK (length(last_error) <= 2000),
    failing_since   timestamptz,
    failures        integer NOT NULL DEFAULT 0,  -- in a row; polls back off while they fail
    fetched         integer NOT NULL DEFAULT 0,  -- mails stored by the last poll
    PRIMARY KEY (org_id, channel_id),
    FOREIGN KEY (org_id, channel_id) REFERENCES channel_imap (org_id, channel_id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, job_id) REFERENCES jobs (org_id, id) ON DELETE SET NULL (job_id)
);
CREATE INDEX imap_polls_job_idx ON imap_polls (org_id, job_id);
CREATE INDEX imap_polls_due_idx ON imap_polls (next_poll_at);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['channel_imap', 'imap_polls'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant ON %I USING (org_id = current_org_id())', t);
    END LOOP;
END $$;

-- The sweep that every worker runs: queue one "mail.imap_poll" job for each enabled mailbox whose
-- poll is due and has no poll job unfinished, and move its next poll on. Row locks (SKIP LOCKED)
-- and the re-checked next_poll_at make two workers running it at once queue each poll once.
-- Crosses organisations like claim_jobs; the poll itself runs in the mailbox's organisation.
CREATE FUNCTION schedule_imap_polls(p_interval_seconds integer, p_limit integer)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE v_count integer;
BEGIN
    WITH due AS (
        SELECT p.org_id, p.channel_id FROM imap_polls p
        JOIN channel_imap a ON a.org_id = p.org_id AND a.channel_id = p.channel_id
        WHERE a.enabled AND p.next_poll_at <= now()
          AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.org_id = p.org_id AND j.id = p.job_id
                                                 AND j.state IN ('queued', 'running'))
        ORDER BY p.next_poll_at
        LIMIT p_limit
        FOR UPDATE OF p SKIP LOCKED
    ), queued AS (
        INSERT INTO jobs (org_id, kind, payload, max_attempts)
        SELECT org_id, 'mail.imap_poll', jsonb_build_object('channel_id', channel_id), 1 FROM due
        RETURNING org_id, id, (payload ->> 'channel_id')::bigint AS channel_id
    )
    UPDATE imap_polls p SET job_id = q.id, next_poll_at = now() + make_interval(secs => p_interval_seconds)
    FROM queued q WHERE p.org_id = q.org_id AND p.channel_id = q.channel_id;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END $$;
