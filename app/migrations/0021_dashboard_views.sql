-- The dashboard's views (issue 9): each a keyset-paged query over its own partial index, and the
-- counts of every view and channel kept by the write path, so neither costs more at a million
-- conversations than at a hundred.

-- A conversation's place in the counts: which views (and which channel, which person's "mine") it
-- counts towards. One definition, used by the trigger below and by recount_dashboard().
CREATE FUNCTION dashboard_buckets(status text, spam boolean, needs_reply boolean, assignee_id bigint,
                                  follow_up_at timestamptz, channel_id bigint)
RETURNS TABLE (bucket text, key bigint)
LANGUAGE sql IMMUTABLE AS $$
    SELECT b.bucket, b.key FROM (VALUES
        ('open', 0::bigint, status = 'open'),
        ('unanswered', 0, status = 'open' AND needs_reply),
        ('unassigned', 0, status = 'open' AND assignee_id IS NULL),
        ('mine', assignee_id, status = 'open' AND assignee_id IS NOT NULL),
        ('channel', channel_id, status = 'open'),
        ('follow_up', 0, follow_up_at IS NOT NULL),
        ('closed', 0, status IN ('closed', 'archived'))
    ) AS b (bucket, key, member)
    WHERE b.member AND NOT spam
$$;

-- How many conversations each view shows: 'mine' per assignee (key = user id), 'channel' per
-- channel (key = channel id, its open conversations), the rest per organisation (key = 0).
CREATE TABLE dashboard_counts (
    org_id          bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    bucket          text NOT NULL,
    key             bigint NOT NULL,
    n               bigint NOT NULL,
    PRIMARY KEY (org_id, bucket, key)
);
ALTER TABLE dashboard_counts ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON dashboard_counts USING (org_id = current_org_id());

-- Kept in the same transaction as the change, whatever path made it: a count can never drift from
-- the rows. Every write in an organisation waits on its organizations row for the next seq anyway;
-- the trigger takes that row first, so the counts and the seq are always locked in the same order
-- (a transaction holding the seq never waits on a count held by one waiting for the seq: no deadlock),
-- and these few hot rows add no contention of their own.
CREATE FUNCTION count_conversation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM organizations WHERE id = COALESCE(NEW.org_id, OLD.org_id) FOR NO KEY UPDATE;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        -- only UPDATE here: during an organisation's cascading delete its counts may be gone already
        UPDATE dashboard_counts c SET n = c.n - 1
        FROM dashboard_buckets(OLD.status, OLD.spam, OLD.needs_reply, OLD.assignee_id, OLD.follow_up_at,
                               OLD.channel_id) b
        WHERE c.org_id = OLD.org_id AND c.bucket = b.bucket AND c.key = b.key;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO dashboard_counts (org_id, bucket, key, n)
        SELECT NEW.org_id, b.bucket, b.key, 1
        FROM dashboard_buckets(NEW.status, NEW.spam, NEW.needs_reply, NEW.assignee_id, NEW.follow_up_at,
                               NEW.channel_id) b
        ON CONFLICT (org_id, bucket, key) DO UPDATE SET n = dashboard_counts.n + 1;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER conversations_count_insert AFTER INSERT OR DELETE ON conversations
    FOR EACH ROW EXECUTE FUNCTION count_conversation();
-- most updates (a new message's times) touch nothing counted: they skip the trigger
CREATE TRIGGER conversations_count_update AFTER UPDATE ON conversations FOR EACH ROW
    WHEN ((OLD.status, OLD.spam, OLD.needs_reply, OLD.assignee_id, OLD.follow_up_at IS NULL, OLD.channel_id)
          IS DISTINCT FROM
          (NEW.status, NEW.spam, NEW.needs_reply, NEW.assignee_id, NEW.follow_up_at IS NULL, NEW.channel_id))
    EXECUTE FUNCTION count_conversation();

-- Counts from scratch: for the conversations there are now, and after a bulk load that bypassed
-- the trigger (bench/volume.py loads as the owner with the triggers disabled, then calls this).
CREATE FUNCTION recount_dashboard(p_org_id bigint) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM dashboard_counts WHERE org_id = p_org_id;
    INSERT INTO dashboard_counts (org_id, bucket, key, n)
    SELECT v.org_id, b.bucket, b.key, count(*)
    FROM conversations v,
         dashboard_buckets(v.status, v.spam, v.needs_reply, v.assignee_id, v.follow_up_at, v.channel_id) b
    WHERE v.org_id = p_org_id
    GROUP BY v.org_id, b.bucket, b.key;
$$;

SELECT recount_dashboard(id) FROM organizations;

-- The views' pages, in arrival order both ways (a backward scan serves "oldest first"), with the id
-- breaking ties between equal times for keyset paging. "All open" and "follow-up" have theirs
-- already (conversations_queue_idx lacks the id; this one replaces it).
CREATE INDEX conversations_open_page_idx ON conversations (org_id, created_at, id)
    WHERE status = 'open' AND NOT spam;
DROP INDEX conversations_queue_idx;
CREATE INDEX conversations_unanswered_page_idx ON conversations (org_id, created_at, id)
    WHERE status = 'open' AND NOT spam AND needs_reply;
CREATE INDEX conversations_unassigned_page_idx ON conversations (org_id, created_at, id)
    WHERE status = 'open' AND NOT spam AND assignee_id IS NULL;
CREATE INDEX conversations_mine_page_idx ON conversations (org_id, assignee_id, created_at, id)
    WHERE status = 'open' AND NOT spam;
CREATE INDEX conversations_closed_page_idx ON conversations (org_id, created_at, id)
    WHERE status IN ('closed', 'archived') AND NOT spam;
-- one channel's open conversations (the channel filter on the open views); it serves what
-- conversations_open_channel_idx (0003) did, so that one goes
CREATE INDEX conversations_open_channel_page_idx ON conversations (org_id, channel_id, created_at, id)
    WHERE status = 'open' AND NOT spam;
DROP INDEX conversations_open_channel_idx;
