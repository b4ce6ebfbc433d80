-- The customer barometer (issue 10): each customer message's machine score and an editor's correction,
-- and per-day roll-ups that the barometer reads instead of millions of messages.
--
-- A customer message is one a customer or forum visitor wrote: author_id IS NULL and kind 'customer'
-- or 'comment'. Its label is the correction where an editor made one, else the machine's; unscored
-- messages and those in a language the scorer does not know (label NULL) count nowhere, and neither
-- do messages of conversations marked as spam.
--
-- The roll-ups are kept by triggers, so every write (scoring, a correction, a tag added or removed
-- after scoring, spam marks, splits and merges moving messages) changes them in its own transaction
-- and they stay exact. Days are days in the organisation's time zone; if it ever changes, run
-- sentiment_rebuild(org_id) once.

ALTER TABLE messages
    ADD COLUMN sentiment_compound real,              -- VADER's compound in [-1, 1]
    ADD COLUMN sentiment_scored_at timestamptz,      -- when the scorer ran; with a NULL label: not sv or en
    ADD COLUMN sentiment_correction text CHECK (sentiment_correction IN ('neg', 'neu', 'pos')),
    -- who corrected it: a member's user id (members are deactivated, never deleted, so no key is kept)
    ADD COLUMN sentiment_corrected_by bigint,
    ADD COLUMN sentiment_corrected_at timestamptz;

-- The sweep's catch-up: customer messages the scorer has not seen yet, oldest first, in any organisation.
CREATE INDEX messages_unscored_idx ON messages (id)
    WHERE sentiment_scored_at IS NULL AND author_id IS NULL AND kind IN ('customer', 'comment');

-- The drill-down: one label's customer messages in a period, newest first, keyset-paged. The label
-- is spelt as CASE, not COALESCE: under row-level security the planner uses only leakproof conditions
-- in an index scan, and it counts COALESCE as leaky (CASE, IS NULL and text equality are not).
CREATE INDEX messages_sentiment_idx ON messages (
    org_id, (CASE WHEN sentiment_correction IS NULL THEN sentiment ELSE sentiment_correction END), created_at DESC, id DESC)
    WHERE author_id IS NULL AND kind IN ('customer', 'comment');

-- Scored customer messages per day, channel and label; `corrected` of them carry an editor's label.
-- No keys to channels or tags: neither is ever deleted, and a cascade could race the triggers below.
CREATE TABLE sentiment_days (
    org_id      bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    day         date NOT NULL,
    channel_id  bigint NOT NULL,
    label       text NOT NULL CHECK (label IN ('neg', 'neu', 'pos')),
    messages    integer NOT NULL DEFAULT 0,
    corrected   integer NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, day, channel_id, label)
);

-- The same per tag of the message's conversation (a message counts once for each of its case's tags).
CREATE TABLE sentiment_tag_days (
    org_id      bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    day         date NOT NULL,
    tag_id      bigint NOT NULL,
    channel_id  bigint NOT NULL,
    label       text NOT NULL CHECK (label IN ('neg', 'neu', 'pos')),
    messages    integer NOT NULL DEFAULT 0,
    corrected   integer NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, day, tag_id, channel_id, label)
);

-- And per tag group: a message counts once for a group however many of the group's tags its case has.
CREATE TABLE sentiment_group_days (
    org_id      bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    day         date NOT NULL,
    group_id    bigint NOT NULL,
    channel_id  bigint NOT NULL,
    label       text NOT NULL CHECK (label IN ('neg', 'neu', 'pos')),
    messages    integer NOT NULL DEFAULT 0,
    corrected   integer NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, day, group_id, channel_id, label)
);

-- The same by calendar month (in the organisation's time zone), kept from the days by the triggers
-- below, so a period of months or years reads a few rows per month instead of one per day.
CREATE TABLE sentiment_months (LIKE sentiment_days INCLUDING ALL);
ALTER TABLE sentiment_months RENAME COLUMN day TO month;
ALTER TABLE sentiment_months ADD FOREIGN KEY (org_id) REFERENCES organizations (id) ON DELETE CASCADE;
CREATE TABLE sentiment_tag_months (LIKE sentiment_tag_days INCLUDING ALL);
ALTER TABLE sentiment_tag_months RENAME COLUMN day TO month;
ALTER TABLE sentiment_tag_months ADD FOREIGN KEY (org_id) REFERENCES organizations (id) ON DELETE CASCADE;
CREATE TABLE sentiment_group_months (LIKE sentiment_group_days INCLUDING ALL);
ALTER TABLE sentiment_group_months RENAME COLUMN day TO month;
ALTER TABLE sentiment_group_months ADD FOREIGN KEY (org_id) REFERENCES organizations (id) ON DELETE CASCADE;

-- The barometer narrowed to one channel, tag or group reads that one's days and months.
CREATE INDEX sentiment_days_channel_idx ON sentiment_days (org_id, channel_id, day);
CREATE INDEX sentiment_tag_days_tag_idx ON sentiment_tag_days (org_id, tag_id, day);
CREATE INDEX sentiment_group_days_group_idx ON sentiment_group_days (org_id, group_id, day);
CREATE INDEX sentiment_months_channel_idx ON sentiment_months (org_id, channel_id, month);
CREATE INDEX sentiment_tag_months_tag_idx ON sentiment_tag_months (org_id, tag_id, month);
CREATE INDEX sentiment_group_months_group_idx ON sentiment_group_months (org_id, group_id, month);

-- A day's row changed: its month's row changes by as much.
CREATE FUNCTION sentiment_month_of_day() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    n integer := NEW.messages - CASE WHEN TG_OP = 'UPDATE' THEN OLD.messages ELSE 0 END;
    c integer := NEW.corrected - CASE WHEN TG_OP = 'UPDATE' THEN OLD.corrected ELSE 0 END;
    first date := date_trunc('month', NEW.day)::date;
BEGIN
    IF TG_TABLE_NAME = 'sentiment_days' THEN
        INSERT INTO sentiment_months AS d (org_id, month, channel_id, label, messages, corrected)
        VALUES (NEW.org_id, first, NEW.channel_id, NEW.label, n, c)
        ON CONFLICT (org_id, month, channel_id, label)
        DO UPDATE SET messages = d.messages + EXCLUDED.messages, corrected = d.corrected + EXCLUDED.corrected;
    ELSIF TG_TABLE_NAME = 'sentiment_tag_days' THEN
        INSERT INTO sentiment_tag_months AS d (org_id, month, tag_id, channel_id, label, messages, corrected)
        VALUES (NEW.org_id, first, NEW.tag_id, NEW.channel_id, NEW.label, n, c)
        ON CONFLICT (org_id, month, tag_id, channel_id, label)
        DO UPDATE SET messages = d.messages + EXCLUDED.messages, corrected = d.corrected + EXCLUDED.corrected;
    ELSE
        INSERT INTO sentiment_group_months AS d (org_id, month, group_id, channel_id, label, messages, corrected)
        VALUES (NEW.org_id, first, NEW.group_id, NEW.channel_id, NEW.label, n, c)
        ON CONFLICT (org_id, month, group_id, channel_id, label)
        DO UPDATE SET messages = d.messages + EXCLUDED.messages, corrected = d.corrected + EXCLUDED.corrected;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER sentiment_month AFTER INSERT OR UPDATE ON sentiment_days FOR EACH ROW
    EXECUTE FUNCTION sentiment_month_of_day();
CREATE TRIGGER sentiment_month AFTER INSERT OR UPDATE ON sentiment_tag_days FOR EACH ROW
    EXECUTE FUNCTION sentiment_month_of_day();
CREATE TRIGGER sentiment_month AFTER INSERT OR UPDATE ON sentiment_group_days FOR EACH ROW
    EXECUTE FUNCTION sentiment_month_of_day();

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['sentiment_days', 'sentiment_tag_days', 'sentiment_group_days', 'sentiment_months',
                             'sentiment_tag_months', 'sentiment_group_months'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant ON %I USING (org_id = current_org_id())', t);
    END LOOP;
END $$;

-- Add `n` messages (negative: remove them) of one conversation's day and label to every roll-up,
-- for the channel given and the conversation's tags and tag groups as they are now.
CREATE FUNCTION sentiment_add(p_org bigint, p_conversation bigint, p_channel bigint, p_day date, p_label text,
                              p_n integer, p_corrected integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sentiment_days AS d (org_id, day, channel_id, label, messages, corrected)
    VALUES (p_org, p_day, p_channel, p_label, p_n, p_corrected)
    ON CONFLICT (org_id, day, channel_id, label)
    DO UPDATE SET messages = d.messages + EXCLUDED.messages, corrected = d.corrected + EXCLUDED.corrected;
    INSERT INTO sentiment_tag_days AS d (org_id, day, tag_id, channel_id, label, messages, corrected)
    SELECT p_org, p_day, ct.tag_id, p_channel, p_label, p_n, p_corrected
    FROM conversation_tags ct WHERE ct.org_id = p_org AND ct.conversation_id = p_conversation
    ON CONFLICT (org_id, day, tag_id, channel_id, label)
    DO UPDATE SET messages = d.messages + EXCLUDED.messages, corrected = d.corrected + EXCLUDED.corrected;
    INSERT INTO sentiment_group_days AS d (org_id, day, group_id, channel_id, label, messages, corrected)
    SELECT DISTINCT p_org, p_day, t.group_id, p_channel, p_label, p_n, p_corrected
    FROM conversation_tags ct JOIN tags t ON t.org_id = ct.org_id AND t.id = ct.tag_id
    WHERE ct.org_id = p_org AND ct.conversation_id = p_conversation AND t.group_id IS NOT NULL
    ON CONFLICT (org_id, day, group_id, channel_id, label)
    DO UPDATE SET messages = d.messages + EXCLUDED.messages, corrected = d.corrected + EXCLUDED.corrected;
END $$;

-- A conversation's scored customer messages, counted by day (in the organisation's time zone) and label.
CREATE FUNCTION sentiment_of_conversation(p_org bigint, p_conversation bigint)
RETURNS TABLE (day date, label text, n integer, corrected integer)
LANGUAGE sql STABLE AS $$
    SELECT (m.created_at AT TIME ZONE o.time_zone)::date, COALESCE(m.sentiment_correction, m.sentiment),
           count(*)::integer, count(m.sentiment_correction)::integer
    FROM messages m JOIN organizations o ON o.id = m.org_id
    WHERE m.org_id = p_org AND m.conversation_id = p_conversation AND m.author_id IS NULL
      AND m.kind IN ('customer', 'comment') AND COALESCE(m.sentiment_correction, m.sentiment) IS NOT NULL
    GROUP BY 1, 2
$$;

-- The conversation's sentiment: the label of its latest scored customer message.
CREATE FUNCTION sentiment_refresh(p_org bigint, p_conversation bigint) RETURNS void
LANGUAGE sql AS $$
    UPDATE conversations v SET sentiment = latest.label
    FROM (SELECT (SELECT COALESCE(m.sentiment_correction, m.sentiment) FROM messages m
                  WHERE m.org_id = p_org AND m.conversation_id = p_conversation AND m.author_id IS NULL
                    AND m.kind IN ('customer', 'comment') AND COALESCE(m.sentiment_correction, m.sentiment) IS NOT NULL
                  ORDER BY m.created_at DESC, m.id DESC LIMIT 1) AS label) latest
    WHERE v.org_id = p_org AND v.id = p_conversation AND v.sentiment IS DISTINCT FROM latest.label
$$;

-- One message's part in the roll-ups (sign -1: taken out), and its conversation's label brought up to date.
CREATE FUNCTION sentiment_count_message(r messages, sign integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE v record;
BEGIN
    IF r.author_id IS NOT NULL OR r.kind NOT IN ('customer', 'comment') THEN
        RETURN;
    END IF;
    SELECT c.channel_id, c.spam, o.time_zone INTO v
    FROM conversations c JOIN organizations o ON o.id = c.org_id
    WHERE c.org_id = r.org_id AND c.id = r.conversation_id;
    IF NOT FOUND THEN
        RETURN;  -- gone with its conversation, whose own trigger took its messages out
    END IF;
    IF COALESCE(r.sentiment_correction, r.sentiment) IS NOT NULL AND NOT v.spam THEN
        PERFORM sentiment_add(r.org_id, r.conversation_id, v.channel_id, (r.created_at AT TIME ZONE v.time_zone)::date,
                              COALESCE(r.sentiment_correction, r.sentiment), sign,
                              CASE WHEN r.sentiment_correction IS NULL THEN 0 ELSE sign END);
    END IF;
    PERFORM sentiment_refresh(r.org_id, r.conversation_id);
END $$;

-- One message scored, corrected, moved to another case, or deleted.
CREATE FUNCTION sentiment_message_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM sentiment_count_message(OLD, -1);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM sentiment_count_message(NEW, 1);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER sentiment_message_inserted AFTER INSERT ON messages FOR EACH ROW
    WHEN (NEW.author_id IS NULL AND COALESCE(NEW.sentiment_correction, NEW.sentiment) IS NOT NULL)
    EXECUTE FUNCTION sentiment_message_changed();
CREATE TRIGGER sentiment_message_updated
    AFTER UPDATE OF sentiment, sentiment_correction, conversation_id, created_at ON messages FOR EACH ROW
    WHEN (OLD.sentiment IS DISTINCT FROM NEW.sentiment OR OLD.sentiment_correction IS DISTINCT FROM NEW.sentiment_correction
          OR OLD.conversation_id <> NEW.conversation_id OR OLD.created_at <> NEW.created_at)
    EXECUTE FUNCTION sentiment_message_changed();
CREATE TRIGGER sentiment_message_deleted AFTER DELETE ON messages FOR EACH ROW
    WHEN (OLD.author_id IS NULL AND COALESCE(OLD.sentiment_correction, OLD.sentiment) IS NOT NULL)
    EXECUTE FUNCTION sentiment_message_changed();

-- A conversation marked as spam (or not), moved to another channel, or deleted: its messages leave
-- the roll-ups under what it was and come back under what it is.
CREATE FUNCTION sentiment_conversation_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE s record;
BEGIN
    FOR s IN SELECT * FROM sentiment_of_conversation(OLD.org_id, OLD.id) LOOP
        IF NOT OLD.spam THEN
            PERFORM sentiment_add(OLD.org_id, OLD.id, OLD.channel_id, s.day, s.label, -s.n, -s.corrected);
        END IF;
        IF TG_OP = 'UPDATE' AND NOT NEW.spam THEN
            PERFORM sentiment_add(NEW.org_id, NEW.id, NEW.channel_id, s.day, s.label, s.n, s.corrected);
        END IF;
    END LOOP;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NULL END;
END $$;

CREATE TRIGGER sentiment_conversation_updated AFTER UPDATE OF spam, channel_id ON conversations FOR EACH ROW
    WHEN (OLD.spam <> NEW.spam OR OLD.channel_id <> NEW.channel_id AND NOT NEW.spam)
    EXECUTE FUNCTION sentiment_conversation_changed();
-- before: afterwards its messages (deleted by cascade) can no longer be found
CREATE TRIGGER sentiment_conversation_deleted BEFORE DELETE ON conversations FOR EACH ROW
    WHEN (OLD.sentiment IS NOT NULL)
    EXECUTE FUNCTION sentiment_conversation_changed();

-- Tags added to or removed from conversations (after their messages were scored, too): the case's
-- scored messages join or leave each tag, and each tag group the case had no other tag of.
-- Statement-level, so a bulk load or a merge moving many tags is one pass.
CREATE FUNCTION sentiment_tags_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE sign integer := CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END;
BEGIN
    WITH changed AS (
        SELECT c.org_id, c.conversation_id, c.tag_id, t.group_id
        FROM changed_tags c JOIN tags t ON t.org_id = c.org_id AND t.id = c.tag_id
    ), scored AS (
        SELECT v.org_id, v.id AS conversation_id, v.channel_id, s.*
        FROM (SELECT DISTINCT org_id, conversation_id FROM changed) x
        -- sentiment IS NULL: no scored message to move (so a bulk load of unscored cases costs a join)
        JOIN conversations v ON v.org_id = x.org_id AND v.id = x.conversation_id AND NOT v.spam
                            AND v.sentiment IS NOT NULL
        CROSS JOIN LATERAL sentiment_of_conversation(v.org_id, v.id) s
    ), tag_rows AS (
        INSERT INTO sentiment_tag_days AS d (org_id, day, tag_id, channel_id, label, messages, corrected)
        SELECT s.org_id, s.day, c.tag_id, s.channel_id, s.label, sign * sum(s.n), sign * sum(s.corrected)
        FROM changed c JOIN scored s ON s.org_id = c.org_id AND s.conversation_id = c.conversation_id
        GROUP BY 1, 2, 3, 4, 5
        ON CONFLICT (org_id, day, tag_id, channel_id, label)
        DO UPDATE SET messages = d.messages + EXCLUDED.messages, corrected = d.corrected + EXCLUDED.corrected
    ), groups AS (
        -- a group counts only where the case has no tag of it besides the changed ones (it had none
        -- before an insert, or has none left after a delete)
        SELECT DISTINCT c.org_id, c.conversation_id, c.group_id FROM changed c
        WHERE c.group_id IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM conversation_tags ct JOIN tags t ON t.org_id = ct.org_id AND t.id = ct.tag_id
            WHERE ct.org_id = c.org_id AND ct.conversation_id = c.conversation_id AND t.group_id = c.group_id
              AND NOT EXISTS (SELECT 1 FROM changed o WHERE o.org_id = ct.org_id
                              AND o.conversation_id = ct.conversation_id AND o.tag_id = ct.tag_id))
    )
    INSERT INTO sentiment_group_days AS d (org_id, day, group_id, channel_id, label, messages, corrected)
    SELECT s.org_id, s.day, g.group_id, s.channel_id, s.label, sign * sum(s.n), sign * sum(s.corrected)
    FROM groups g JOIN scored s ON s.org_id = g.org_id AND s.conversation_id = g.conversation_id
    GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (org_id, day, group_id, channel_id, label)
    DO UPDATE SET messages = d.messages + EXCLUDED.messages, corrected = d.corrected + EXCLUDED.corrected;
    RETURN NULL;
END $$;

CREATE TRIGGER sentiment_tags_added AFTER INSERT ON conversation_tags
    REFERENCING NEW TABLE AS changed_tags FOR EACH STATEMENT EXECUTE FUNCTION sentiment_tags_changed();
CREATE TRIGGER sentiment_tags_removed AFTER DELETE ON conversation_tags
    REFERENCING OLD TABLE AS changed_tags FOR EACH STATEMENT EXECUTE FUNCTION sentiment_tags_changed();

-- Build an organisation's roll-ups and conversation labels afresh from the messages (after a bulk
-- load with the triggers off, or a change of time zone). Runs under row-level security like the rest.
CREATE FUNCTION sentiment_rebuild(p_org bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM sentiment_days WHERE org_id = p_org;
    DELETE FROM sentiment_tag_days WHERE org_id = p_org;
    DELETE FROM sentiment_group_days WHERE org_id = p_org;
    -- the days' inserts below fill the months again, by trigger
    DELETE FROM sentiment_months WHERE org_id = p_org;
    DELETE FROM sentiment_tag_months WHERE org_id = p_org;
    DELETE FROM sentiment_group_months WHERE org_id = p_org;
    CREATE TEMPORARY TABLE scored_days ON COMMIT DROP AS
        SELECT v.id AS conversation_id, v.channel_id, (m.created_at AT TIME ZONE o.time_zone)::date AS day,
               COALESCE(m.sentiment_correction, m.sentiment) AS label,
               count(*)::integer AS n, count(m.sentiment_correction)::integer AS corrected
        FROM messages m
        JOIN conversations v ON v.org_id = m.org_id AND v.id = m.conversation_id AND NOT v.spam
        JOIN organizations o ON o.id = m.org_id
        WHERE m.org_id = p_org AND m.author_id IS NULL AND m.kind IN ('customer', 'comment')
          AND COALESCE(m.sentiment_correction, m.sentiment) IS NOT NULL
        GROUP BY 1, 2, 3, 4;
    INSERT INTO sentiment_days (org_id, day, channel_id, label, messages, corrected)
    SELECT p_org, day, channel_id, label, sum(n), sum(corrected) FROM scored_days GROUP BY 2, 3, 4;
    INSERT INTO sentiment_tag_days (org_id, day, tag_id, channel_id, label, messages, corrected)
    SELECT p_org, s.day, ct.tag_id, s.channel_id, s.label, sum(s.n), sum(s.corrected)
    FROM scored_days s JOIN conversation_tags ct ON ct.org_id = p_org AND ct.conversation_id = s.conversation_id
    GROUP BY 2, 3, 4, 5;
    INSERT INTO sentiment_group_days (org_id, day, group_id, channel_id, label, messages, corrected)
    SELECT p_org, s.day, g.group_id, s.channel_id, s.label, sum(s.n), sum(s.corrected)
    FROM scored_days s
    JOIN (SELECT DISTINCT ct.conversation_id, t.group_id FROM conversation_tags ct
          JOIN tags t ON t.org_id = ct.org_id AND t.id = ct.tag_id
          WHERE ct.org_id = p_org AND t.group_id IS NOT NULL) g ON g.conversation_id = s.conversation_id
    GROUP BY 2, 3, 4, 5;
    UPDATE conversations v SET sentiment = latest.label
    FROM (SELECT DISTINCT ON (m.conversation_id) m.conversation_id, COALESCE(m.sentiment_correction, m.sentiment) AS label
          FROM messages m
          WHERE m.org_id = p_org AND m.author_id IS NULL AND m.kind IN ('customer', 'comment')
            AND COALESCE(m.sentiment_correction, m.sentiment) IS NOT NULL
          ORDER BY m.conversation_id, m.created_at DESC, m.id DESC) latest
    WHERE v.org_id = p_org AND v.id = latest.conversation_id AND v.sentiment IS DISTINCT FROM latest.label;
END $$;

-- The scorer's catch-up finds unscored customer messages across organisations, like the job claim;
-- it only reads. Each is then scored in its own organisation's transaction, under row-level security.
CREATE FUNCTION unscored_messages(p_limit integer, p_older_than interval)
RETURNS TABLE (org_id bigint, id bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT org_id, id FROM messages
    WHERE sentiment_scored_at IS NULL AND author_id IS NULL AND kind IN ('customer', 'comment')
      AND created_at <= now() - p_older_than
    ORDER BY id
    LIMIT p_limit
$$;
