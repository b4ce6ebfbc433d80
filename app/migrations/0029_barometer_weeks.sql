-- The customer barometer by ISO week (issue 10, speed): roll-ups per week beside the day and month ones
-- (0025), so weekly bars read one row per week and key instead of seven day rows. `week` is the
-- Monday of the ISO week, in the organisation's time zone as the days are.
--
-- Months and weeks are both kept from the days by one trigger function, told the grain by its
-- argument; it replaces 0025's month-only one. At the end: the drill-down's indexes, narrowed.

CREATE TABLE sentiment_weeks (LIKE sentiment_days INCLUDING ALL);
ALTER TABLE sentiment_weeks RENAME COLUMN day TO week;
ALTER TABLE sentiment_weeks ADD FOREIGN KEY (org_id) REFERENCES organizations (id) ON DELETE CASCADE;
CREATE TABLE sentiment_tag_weeks (LIKE sentiment_tag_days INCLUDING ALL);
ALTER TABLE sentiment_tag_weeks RENAME COLUMN day TO week;
ALTER TABLE sentiment_tag_weeks ADD FOREIGN KEY (org_id) REFERENCES organizations (id) ON DELETE CASCADE;
CREATE TABLE sentiment_group_weeks (LIKE sentiment_group_days INCLUDING ALL);
ALTER TABLE sentiment_group_weeks RENAME COLUMN day TO week;
ALTER TABLE sentiment_group_weeks ADD FOREIGN KEY (org_id) REFERENCES organizations (id) ON DELETE CASCADE;

CREATE INDEX sentiment_weeks_channel_idx ON sentiment_weeks (org_id, channel_id, week);
CREATE INDEX sentiment_tag_weeks_tag_idx ON sentiment_tag_weeks (org_id, tag_id, week);
CREATE INDEX sentiment_group_weeks_group_idx ON sentiment_group_weeks (org_id, group_id, week);

ALTER TABLE sentiment_weeks ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON sentiment_weeks USING (org_id = current_org_id());
ALTER TABLE sentiment_tag_weeks ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON sentiment_tag_weeks USING (org_id = current_org_id());
ALTER TABLE sentiment_group_weeks ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON sentiment_group_weeks USING (org_id = current_org_id());

-- A day's row changed: its week's (TG_ARGV[0] 'week') or month's ('month') row changes by as much.
-- The target is the day table's name with the grain for "day"; its key is the day table's.
CREATE FUNCTION sentiment_period_of_day() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    grain text := TG_ARGV[0];
    target text := replace(TG_TABLE_NAME, '_days', '_' || grain || 's');
    keys text := CASE TG_TABLE_NAME WHEN 'sentiment_days' THEN 'channel_id'
                                    WHEN 'sentiment_tag_days' THEN 'tag_id, channel_id'
                                    ELSE 'group_id, channel_id' END;
BEGIN
    EXECUTE format(
        'INSERT INTO %1$I AS d (org_id, %2$I, %3$s, label, messages, corrected)
         SELECT ($1).org_id, date_trunc(%2$L, ($1).day)::date, %4$s, ($1).label, $2, $3
         ON CONFLICT (org_id, %2$I, %3$s, label)
         DO UPDATE SET messages = d.messages + EXCLUDED.messages, corrected = d.corrected + EXCLUDED.corrected',
        target, grain, keys, regexp_replace(keys, '(\w+)', '($1).\1', 'g'))
    USING NEW,
          NEW.messages - CASE WHEN TG_OP = 'UPDATE' THEN OLD.messages ELSE 0 END,
          NEW.corrected - CASE WHEN TG_OP = 'UPDATE' THEN OLD.corrected ELSE 0 END;
    RETURN NULL;
END $$;

DROP TRIGGER sentiment_month ON sentiment_days;
DROP TRIGGER sentiment_month ON sentiment_tag_days;
DROP TRIGGER sentiment_month ON sentiment_group_days;
DROP FUNCTION sentiment_month_of_day();

CREATE TRIGGER sentiment_month AFTER INSERT OR UPDATE ON sentiment_days FOR EACH ROW
    EXECUTE FUNCTION sentiment_period_of_day('month');
CREATE TRIGGER sentiment_month AFTER INSERT OR UPDATE ON sentiment_tag_days FOR EACH ROW
    EXECUTE FUNCTION sentiment_period_of_day('month');
CREATE TRIGGER sentiment_month AFTER INSERT OR UPDATE ON sentiment_group_days FOR EACH ROW
    EXECUTE FUNCTION sentiment_period_of_day('month');
CREATE TRIGGER sentiment_week AFTER INSERT OR UPDATE ON sentiment_days FOR EACH ROW
    EXECUTE FUNCTION sentiment_period_of_day('week');
CREATE TRIGGER sentiment_week AFTER INSERT OR UPDATE ON sentiment_tag_days FOR EACH ROW
    EXECUTE FUNCTION sentiment_period_of_day('week');
CREATE TRIGGER sentiment_week AFTER INSERT OR UPDATE ON sentiment_group_days FOR EACH ROW
    EXECUTE FUNCTION sentiment_period_of_day('week');

-- The weeks of what is already counted (date_trunc('week') is the ISO week's Monday).
INSERT INTO sentiment_weeks (org_id, week, channel_id, label, messages, corrected)
SELECT org_id, date_trunc('week', day)::date, channel_id, label, sum(messages), sum(corrected)
FROM sentiment_days GROUP BY 1, 2, 3, 4;
INSERT INTO sentiment_tag_weeks (org_id, week, tag_id, channel_id, label, messages, corrected)
SELECT org_id, date_trunc('week', day)::date, tag_id, channel_id, label, sum(messages), sum(corrected)
FROM sentiment_tag_days GROUP BY 1, 2, 3, 4, 5;
INSERT INTO sentiment_group_weeks (org_id, week, group_id, channel_id, label, messages, corrected)
SELECT org_id, date_trunc('week', day)::date, group_id, channel_id, label, sum(messages), sum(corrected)
FROM sentiment_group_days GROUP BY 1, 2, 3, 4, 5;

-- A rebuild empties the weeks too; the days it counts afresh fill them again, by the triggers above.
ALTER FUNCTION sentiment_rebuild(bigint) RENAME TO sentiment_rebuild_days_and_months;
CREATE FUNCTION sentiment_rebuild(p_org bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM sentiment_weeks WHERE org_id = p_org;
    DELETE FROM sentiment_tag_weeks WHERE org_id = p_org;
    DELETE FROM sentiment_group_weeks WHERE org_id = p_org;
    PERFORM sentiment_rebuild_days_and_months(p_org);
END $$;

-- The drill-down finds a page's keys from indexes alone (app/barometer.py KEYS): the label's messages
-- carry their case and the columns the label is spelt from (an expression index is read without the
-- table only when the expression's columns are in it too), cases their channel and spam mark, and a
-- tag's cases come from its index without the table. Before, finding the newest 51 negative messages
-- of a tag among two years' read a table page for each of ~5,000 messages passed over: quick when
-- cached, hundreds of ms when not.
DROP INDEX messages_sentiment_idx;
CREATE INDEX messages_sentiment_idx ON messages (
    org_id, (CASE WHEN sentiment_correction IS NULL THEN sentiment ELSE sentiment_correction END), created_at DESC, id DESC)
    INCLUDE (conversation_id, sentiment, sentiment_correction)
    WHERE author_id IS NULL AND kind IN ('customer', 'comment');
CREATE INDEX conversations_drill_idx ON conversations (org_id, id) INCLUDE (channel_id, spam);
DROP INDEX conversation_tags_tag_idx;
CREATE INDEX conversation_tags_tag_idx ON conversation_tags (org_id, tag_id, conversation_id);
