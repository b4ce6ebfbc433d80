-- Statistics (issue 10): channels' opening hours and holidays, and per-day roll-ups kept exact by triggers.
--
-- Two stages, both maintained in the transaction of the change that affects them:
--   stats_conversations  one row per conversation: what it contributes (day, hour, first response wall-clock
--                        and within opening hours, resolutions, tags), computed by the view stats_source from
--                        the base tables; the row is the snapshot to subtract when the conversation changes.
--   stats_daily          sums per organisation, day (in its time zone), channel, tag or tag group, assignee:
--                        counts, and histograms (one array element per bucket of STATS_BOUNDS) for percentiles.
-- Triggers on the base tables call stats_touch(); the stats_conversations trigger moves the sums. Triggers
-- keep this independent of which code path changed the rows; stats_rebuild() recomputes from scratch.

-- Opening hours per weekday, Monday first: [opens, closes] in minutes after local midnight, or null (closed).
ALTER TABLE channels
    ADD COLUMN opening_hours jsonb NOT NULL
        DEFAULT '[[480, 1020], [480, 1020], [480, 1020], [480, 1020], [480, 1020], null, null]'
        CHECK (jsonb_typeof(opening_hours) = 'array' AND jsonb_array_length(opening_hours) = 7),
    ADD COLUMN holidays date[] NOT NULL DEFAULT '{}';

-- A status change's conversation as a column: under row-level security PostgreSQL uses an index only through
-- leakproof operators, which jsonb's ->> and ? are not, so events_conversation_idx would be read whole.
ALTER TABLE events ADD COLUMN conversation_id bigint GENERATED ALWAYS AS ((payload->>'conversation_id')::bigint) STORED;
CREATE INDEX events_status_changes_idx ON events (org_id, conversation_id, seq) WHERE kind = 'conversation.status_changed';

-- The drill-down lists and the CSV page through a period's conversations in creation order.
CREATE INDEX conversations_created_idx ON conversations (org_id, created_at, id);

-- Lower bounds (seconds) of the histogram buckets, as app/stats.py BOUNDS: finer where answers usually fall.
CREATE FUNCTION stats_bounds() RETURNS integer[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY[0, 60, 120, 180, 240, 300, 420, 600, 900, 1200, 1500, 1800, 2400, 3000, 3600, 4500, 5400, 6300,
                 7200, 9000, 10800, 12600, 14400, 18000, 21600, 25200, 28800, 36000, 43200, 50400, 57600, 72000,
                 86400, 108000, 129600, 151200, 172800, 216000, 259200, 345600, 432000, 518400, 604800, 864000,
                 1209600, 1814400, 2592000, 3888000, 5184000]
$$;

CREATE FUNCTION stats_bucket(p_seconds integer) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT width_bucket(greatest(p_seconds, 0), stats_bounds())
$$;

-- Seconds between two moments that fall within a channel's opening hours (in the organisation's time zone),
-- leaving out its holidays. Days are walked in local time, so a DST change moves the hours with the clock.
CREATE FUNCTION stats_open_seconds(p_from timestamptz, p_to timestamptz, p_tz text, p_hours jsonb, p_holidays date[])
RETURNS integer LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    d date := (p_from AT TIME ZONE p_tz)::date;
    last_day date := (p_to AT TIME ZONE p_tz)::date;
    h jsonb;
    opens timestamptz;
    closes timestamptz;
    total double precision := 0;
BEGIN
    IF p_from IS NULL OR p_to IS NULL OR p_to <= p_from THEN
        RETURN CASE WHEN p_to IS NULL THEN NULL ELSE 0 END;
    END IF;
    last_day := least(last_day, d + 400);  -- a wait over a year is counted as its first 400 days
    WHILE d <= last_day LOOP
        h := p_hours -> (extract(isodow FROM d)::int - 1);
        IF jsonb_typeof(h) = 'array' AND NOT d = ANY(p_holidays) THEN
            opens := (d + make_interval(mins => (h->>0)::int)) AT TIME ZONE p_tz;
            closes := (d + make_interval(mins => (h->>1)::int)) AT TIME ZONE p_tz;
            total := total + greatest(0, extract(epoch FROM least(closes, p_to) - greatest(opens, p_from)));
        END IF;
        d := d + 1;
    END LOOP;
    RETURN round(total)::int;
END $$;

-- Each mail case's resolutions: a close after it was opened (from arrival) or reopened (from the reopening);
-- read from the status changes in the event log, so a reopened case counts once more.
CREATE FUNCTION stats_mail_resolutions(p_org_id bigint, p_conversation_id bigint, p_created_at timestamptz)
RETURNS integer[] LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(extract(epoch FROM at - coalesce(reopened_at, p_created_at))::int ORDER BY seq)
                    FILTER (WHERE status = 'closed' AND previous IS DISTINCT FROM 'closed'), '{}')
    FROM (
        SELECT seq, at, status, previous,
               max(at) FILTER (WHERE status <> 'closed' AND previous = 'closed') OVER (ORDER BY seq) AS reopened_at
        FROM (
            SELECT e.seq, e.created_at AS at, e.payload->>'status' AS status,
                   lag(e.payload->>'status') OVER (ORDER BY e.seq) AS previous
            FROM events e
            WHERE e.org_id = p_org_id AND e.conversation_id = p_conversation_id
              AND e.kind = 'conversation.status_changed'
        ) changes
    ) episodes
$$;

-- What each conversation contributes, from the base tables. Spam counts only as spam; "no reply needed" is a
-- conversation never answered whose customer message was marked so. Forum threads are resolved by the first
-- official answer (an editor's) or the accepted answer, whichever came first.
CREATE VIEW stats_source WITH (security_invoker = true) AS
SELECT v.org_id, v.id AS conversation_id, v.channel_id, v.kind,
       (v.created_at AT TIME ZONE o.time_zone)::date AS day,
       extract(hour FROM v.created_at AT TIME ZONE o.time_zone)::smallint AS hour,
       v.assignee_id, v.spam,
       v.first_response_at IS NULL AND coalesce(marked.any, false) AS no_reply,
       extract(epoch FROM v.first_response_at - v.created_at)::int AS first_response,
       open.seconds AS first_response_open,
       open.seconds <= ch.response_target_minutes * 60 AS in_target,
       CASE WHEN v.kind = 'mail' THEN stats_mail_resolutions(v.org_id, v.id, v.created_at)
            ELSE coalesce(ARRAY[extract(epoch FROM forum.resolved_at - v.created_at)::int], '{}') END
           AS resolutions,
       coalesce(tg.tag_ids, '{}') AS tag_ids, coalesce(tg.group_ids, '{}') AS group_ids
FROM conversations v
JOIN organizations o ON o.id = v.org_id
JOIN channels ch ON ch.org_id = v.org_id AND ch.id = v.channel_id
CROSS JOIN LATERAL (
    SELECT stats_open_seconds(v.created_at, v.first_response_at, o.time_zone, ch.opening_hours, ch.holidays) AS seconds
) open
LEFT JOIN LATERAL (
    SELECT true AS any FROM messages m
    WHERE m.org_id = v.org_id AND m.conversation_id = v.id AND m.no_reply_needed LIMIT 1
) marked ON true
LEFT JOIN LATERAL (
    SELECT least(min(m.created_at) FILTER (WHERE m.kind = 'editor' AND m.author_id IS NOT NULL),
                 min(m.accepted_at)) AS resolved_at
    FROM messages m WHERE m.org_id = v.org_id AND m.conversation_id = v.id AND v.kind = 'forum'
) forum ON true
LEFT JOIN LATERAL (
    SELECT array_agg(DISTINCT ct.tag_id ORDER BY ct.tag_id) AS tag_ids,
           array_agg(DISTINCT t.group_id ORDER BY t.group_id) FILTER (WHERE t.group_id IS NOT NULL) AS group_ids
    FROM conversation_tags ct JOIN tags t ON t.org_id = ct.org_id AND t.id = ct.tag_id
    WHERE ct.org_id = v.org_id AND ct.conversation_id = v.id
) tg ON true;

CREATE TABLE stats_conversations (
    org_id          bigint NOT NULL,
    conversation_id bigint NOT NULL,
    channel_id      bigint NOT NULL,
    kind            text NOT NULL,
    day             date NOT NULL,
    hour            smallint NOT NULL,
    assignee_id     bigint,
    spam            boolean NOT NULL,
    no_reply        boolean NOT NULL,
    first_response  integer,
    first_response_open integer,
    in_target       boolean,
    resolutions     integer[] NOT NULL,
    tag_ids         bigint[] NOT NULL,
    group_ids       bigint[] NOT NULL,
    PRIMARY KEY (org_id, conversation_id),
    FOREIGN KEY (org_id, conversation_id) REFERENCES conversations (org_id, id) ON DELETE CASCADE
);

CREATE TABLE stats_daily (
    org_id          bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    -- one of: everything (0, 0), one tag (tag_id, 0), one tag group (0, group_id)
    tag_id          bigint NOT NULL DEFAULT 0,
    group_id        bigint NOT NULL DEFAULT 0,
    -- 0: everyone's; -1: unassigned; else that member's
    assignee_id     bigint NOT NULL DEFAULT 0,
    day             date NOT NULL,
    channel_id      bigint NOT NULL,
    incoming        integer NOT NULL DEFAULT 0,  -- not spam
    spam            integer NOT NULL DEFAULT 0,
    no_reply        integer NOT NULL DEFAULT 0,
    answered        integer NOT NULL DEFAULT 0,
    in_target       integer NOT NULL DEFAULT 0,
    resolved        integer NOT NULL DEFAULT 0,  -- resolutions: a reopened case closed again counts twice
    hours           integer[] NOT NULL DEFAULT array_fill(0, ARRAY[24]),   -- incoming by local hour
    first_response  integer[] NOT NULL DEFAULT array_fill(0, ARRAY[49]),   -- histogram, buckets of stats_bounds()
    first_response_open integer[] NOT NULL DEFAULT array_fill(0, ARRAY[49]),
    resolution      integer[] NOT NULL DEFAULT array_fill(0, ARRAY[49]),
    PRIMARY KEY (org_id, tag_id, group_id, assignee_id, day, channel_id)
);

-- The counts per tag and tag group of a period, read from the index alone.
CREATE INDEX stats_daily_tags_idx ON stats_daily (org_id, assignee_id, day) INCLUDE (tag_id, group_id, channel_id, incoming)
    WHERE tag_id <> 0 OR group_id <> 0;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['stats_conversations', 'stats_daily'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant ON %I USING (org_id = current_org_id())', t);
    END LOOP;
END $$;

-- Elementwise sum of two equally long arrays.
CREATE FUNCTION stats_add(a integer[], b integer[]) RETURNS integer[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_agg(x + y ORDER BY i) FROM unnest(a, b) WITH ORDINALITY AS u(x, y, i)
$$;

-- n counters, with `sign` added once for each (1-based) position given: a histogram from bucket numbers.
CREATE FUNCTION stats_count(n integer, positions integer[], sign integer) RETURNS integer[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    counts integer[] := array_fill(0, ARRAY[n]);
    p integer;
BEGIN
    FOREACH p IN ARRAY coalesce(positions, '{}') LOOP
        counts[p] := counts[p] + sign;
    END LOOP;
    RETURN counts;
END $$;

CREATE AGGREGATE stats_cat(integer[]) (sfunc = array_cat, stype = integer[], initcond = '{}');

-- Whether the roll-ups are left alone in this transaction: a bulk load (bench/volume.py) or stats_rebuild()
-- sets samsyn.stats_bulk and counts everything once at the end instead.
CREATE FUNCTION stats_bulk() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('samsyn.stats_bulk', true), '') = 'on'
$$;

-- Add (sign 1) or take away (sign -1) one conversation's contribution, under every dimension it counts in.
CREATE FUNCTION stats_apply(f stats_conversations, sign integer) RETURNS void LANGUAGE sql AS $$
    INSERT INTO stats_daily AS d (org_id, tag_id, group_id, assignee_id, day, channel_id, incoming, spam, no_reply,
                                  answered, in_target, resolved, hours, first_response, first_response_open,
                                  resolution)
    SELECT f.org_id, dim.tag_id, dim.group_id, who.assignee_id, f.day, f.channel_id,
           sign * (NOT f.spam)::int, sign * f.spam::int, sign * (NOT f.spam AND f.no_reply)::int,
           sign * (NOT f.spam AND f.first_response IS NOT NULL)::int, sign * (NOT f.spam AND coalesce(f.in_target, false))::int,
           sign * CASE WHEN f.spam THEN 0 ELSE cardinality(f.resolutions) END,
           stats_count(24, CASE WHEN f.spam THEN '{}' ELSE ARRAY[f.hour + 1] END, sign),
           stats_count(49, CASE WHEN f.spam OR f.first_response IS NULL THEN '{}'
                               ELSE ARRAY[stats_bucket(f.first_response)] END, sign),
           stats_count(49, CASE WHEN f.spam OR f.first_response_open IS NULL THEN '{}'
                               ELSE ARRAY[stats_bucket(f.first_response_open)] END, sign),
           stats_count(49, CASE WHEN f.spam THEN '{}'
                               ELSE (SELECT coalesce(array_agg(stats_bucket(r)), '{}') FROM unnest(f.resolutions) r)
                          END, sign)
    FROM (SELECT 0::bigint AS tag_id, 0::bigint AS group_id
          UNION ALL SELECT t, 0 FROM unnest(f.tag_ids) t
          UNION ALL SELECT 0, g FROM unnest(f.group_ids) g) dim
    CROSS JOIN (VALUES (0::bigint), (coalesce(f.assignee_id, -1))) who (assignee_id)
    ORDER BY 2, 3, 4  -- one lock order for every writer
    ON CONFLICT (org_id, tag_id, group_id, assignee_id, day, channel_id) DO UPDATE SET
        incoming = d.incoming + EXCLUDED.incoming, spam = d.spam + EXCLUDED.spam,
        no_reply = d.no_reply + EXCLUDED.no_reply, answered = d.answered + EXCLUDED.answered,
        in_target = d.in_target + EXCLUDED.in_target, resolved = d.resolved + EXCLUDED.resolved,
        hours = stats_add(d.hours, EXCLUDED.hours),
        first_response = stats_add(d.first_response, EXCLUDED.first_response),
        first_response_open = stats_add(d.first_response_open, EXCLUDED.first_response_open),
        resolution = stats_add(d.resolution, EXCLUDED.resolution)
$$;

CREATE FUNCTION stats_conversations_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF stats_bulk() THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM stats_apply(OLD, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM stats_apply(NEW, 1);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER stats_move_sums AFTER INSERT OR DELETE ON stats_conversations
    FOR EACH ROW EXECUTE FUNCTION stats_conversations_changed();
CREATE TRIGGER stats_move_sums_on_update AFTER UPDATE ON stats_conversations
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION stats_conversations_changed();

-- Recompute one conversation's contribution (its row in stats_conversations) from the base tables.
CREATE FUNCTION stats_touch(p_org_id bigint, p_conversation_id bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF stats_bulk() THEN
        RETURN;
    END IF;
    INSERT INTO stats_conversations
    SELECT * FROM stats_source s WHERE s.org_id = p_org_id AND s.conversation_id = p_conversation_id
    ON CONFLICT (org_id, conversation_id) DO UPDATE SET
        channel_id = EXCLUDED.channel_id, kind = EXCLUDED.kind, day = EXCLUDED.day, hour = EXCLUDED.hour,
        assignee_id = EXCLUDED.assignee_id, spam = EXCLUDED.spam, no_reply = EXCLUDED.no_reply,
        first_response = EXCLUDED.first_response, first_response_open = EXCLUDED.first_response_open,
        in_target = EXCLUDED.in_target, resolutions = EXCLUDED.resolutions, tag_ids = EXCLUDED.tag_ids,
        group_ids = EXCLUDED.group_ids;
END $$;

-- An organisation's roll-ups from scratch, in one set-based pass (after a bulk load, or a new time zone).
CREATE FUNCTION stats_rebuild(p_org_id bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('samsyn.stats_bulk', 'on', true);
    DELETE FROM stats_conversations WHERE org_id = p_org_id;
    DELETE FROM stats_daily WHERE org_id = p_org_id;
    INSERT INTO stats_conversations SELECT * FROM stats_source WHERE org_id = p_org_id;
    INSERT INTO stats_daily SELECT * FROM stats_recount(p_org_id, false);
    PERFORM set_config('samsyn.stats_bulk', '', true);
END $$;

-- An organisation's daily sums counted afresh, from the base tables (stats_source) or from the stored
-- contributions; the tests compare them with stats_daily.
CREATE FUNCTION stats_recount(p_org_id bigint, p_from_base boolean) RETURNS SETOF stats_daily
LANGUAGE sql STABLE AS $$
    WITH f AS (
        SELECT * FROM stats_source WHERE p_from_base AND org_id = p_org_id
        UNION ALL
        SELECT * FROM stats_conversations WHERE NOT p_from_base AND org_id = p_org_id
    ),
    c AS (
        SELECT f.*, dim.tag_id AS dim_tag, dim.group_id AS dim_group, who.assignee AS dim_assignee,
               (SELECT array_agg(stats_bucket(r)) FROM unnest(f.resolutions) r) AS resolution_buckets
        FROM f
        CROSS JOIN LATERAL (SELECT 0::bigint, 0::bigint UNION ALL SELECT t, 0 FROM unnest(f.tag_ids) t
                            UNION ALL SELECT 0, g FROM unnest(f.group_ids) g) dim (tag_id, group_id)
        CROSS JOIN LATERAL (VALUES (0::bigint), (coalesce(f.assignee_id, -1))) who (assignee)
    )
    SELECT c.org_id, c.dim_tag, c.dim_group, c.dim_assignee, c.day, c.channel_id,
           count(*) FILTER (WHERE NOT c.spam)::int,
           count(*) FILTER (WHERE c.spam)::int,
           count(*) FILTER (WHERE NOT c.spam AND c.no_reply)::int,
           count(c.first_response) FILTER (WHERE NOT c.spam)::int,
           count(*) FILTER (WHERE NOT c.spam AND c.in_target)::int,
           coalesce(sum(cardinality(c.resolutions)) FILTER (WHERE NOT c.spam), 0)::int,
           stats_count(24, array_agg(c.hour + 1) FILTER (WHERE NOT c.spam), 1),
           stats_count(49, array_agg(stats_bucket(c.first_response))
                           FILTER (WHERE NOT c.spam AND c.first_response IS NOT NULL), 1),
           stats_count(49, array_agg(stats_bucket(c.first_response_open))
                           FILTER (WHERE NOT c.spam AND c.first_response_open IS NOT NULL), 1),
           stats_count(49, stats_cat(c.resolution_buckets) FILTER (WHERE NOT c.spam), 1)
    FROM c
    GROUP BY 1, 2, 3, 4, 5, 6
$$;

-- The triggers on the base tables: whatever changed a conversation's figures recomputes its contribution.
CREATE FUNCTION stats_conversation_row_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM stats_touch(NEW.org_id, NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER stats_on_conversation_insert AFTER INSERT ON conversations
    FOR EACH ROW EXECUTE FUNCTION stats_conversation_row_changed();
CREATE TRIGGER stats_on_conversation_update
    AFTER UPDATE OF channel_id, kind, created_at, assignee_id, spam, first_response_at ON conversations
    FOR EACH ROW EXECUTE FUNCTION stats_conversation_row_changed();

CREATE FUNCTION stats_message_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM stats_touch(OLD.org_id, OLD.conversation_id);
    END IF;
    IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.conversation_id <> OLD.conversation_id) THEN
        PERFORM stats_touch(NEW.org_id, NEW.conversation_id);
    END IF;
    RETURN NULL;
END $$;
-- A new message matters only if it can resolve a forum thread or carries a mark; first responses come
-- through conversations.first_response_at.
CREATE TRIGGER stats_on_message_insert AFTER INSERT ON messages
    FOR EACH ROW WHEN (NEW.kind = 'editor' OR NEW.no_reply_needed OR NEW.accepted_at IS NOT NULL)
    EXECUTE FUNCTION stats_message_changed();
CREATE TRIGGER stats_on_message_update AFTER UPDATE OF conversation_id, no_reply_needed, accepted_at, kind, created_at
    ON messages FOR EACH ROW EXECUTE FUNCTION stats_message_changed();
CREATE TRIGGER stats_on_message_delete AFTER DELETE ON messages
    FOR EACH ROW EXECUTE FUNCTION stats_message_changed();

CREATE FUNCTION stats_tags_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
    IF TG_TABLE_NAME = 'tags' THEN  -- a tag moved to another group: its conversations count there now
        FOR r IN SELECT conversation_id FROM conversation_tags WHERE org_id = NEW.org_id AND tag_id = NEW.id LOOP
            PERFORM stats_touch(NEW.org_id, r.conversation_id);
        END LOOP;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM stats_touch(OLD.org_id, OLD.conversation_id);
    ELSE
        PERFORM stats_touch(NEW.org_id, NEW.conversation_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER stats_on_tagging AFTER INSERT OR DELETE ON conversation_tags
    FOR EACH ROW EXECUTE FUNCTION stats_tags_changed();
CREATE TRIGGER stats_on_tag_group AFTER UPDATE OF group_id ON tags
    FOR EACH ROW WHEN (OLD.group_id IS DISTINCT FROM NEW.group_id) EXECUTE FUNCTION stats_tags_changed();

-- A status change is in the event log only after the row changed: resolutions are read from there.
CREATE FUNCTION stats_status_logged() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM stats_touch(NEW.org_id, (NEW.payload->>'conversation_id')::bigint);
    RETURN NULL;
END $$;
CREATE TRIGGER stats_on_status_event AFTER INSERT ON events
    FOR EACH ROW WHEN (NEW.kind = 'conversation.status_changed') EXECUTE FUNCTION stats_status_logged();

-- Opening hours, holidays or the target changed: the channel's conversations are counted again.
CREATE FUNCTION stats_channel_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE stats_conversations f SET first_response_open = s.first_response_open, in_target = s.in_target
    FROM stats_source s
    WHERE f.org_id = NEW.org_id AND f.channel_id = NEW.id AND f.first_response IS NOT NULL
      AND s.org_id = f.org_id AND s.conversation_id = f.conversation_id
      AND (f.first_response_open, f.in_target) IS DISTINCT FROM (s.first_response_open, s.in_target);
    RETURN NULL;
END $$;
CREATE TRIGGER stats_on_channel_hours
    AFTER UPDATE OF opening_hours, holidays, response_target_minutes ON channels
    FOR EACH ROW WHEN ((OLD.opening_hours, OLD.holidays, OLD.response_target_minutes)
                       IS DISTINCT FROM (NEW.opening_hours, NEW.holidays, NEW.response_target_minutes))
    EXECUTE FUNCTION stats_channel_changed();

-- A new time zone moves every conversation's day and hour.
CREATE FUNCTION stats_time_zone_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM stats_rebuild(NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER stats_on_time_zone AFTER UPDATE OF time_zone ON organizations
    FOR EACH ROW WHEN (OLD.time_zone IS DISTINCT FROM NEW.time_zone) EXECUTE FUNCTION stats_time_zone_changed();
