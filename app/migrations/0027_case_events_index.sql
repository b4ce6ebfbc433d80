-- One index on a case's events for every reader, and a moved thread counted where it began.
--
-- The case page read its events through events_conversation_idx, an index on the jsonb expression
-- payload->>'conversation_id': under row-level security only leakproof operators reach an index, and ->> is
-- not, so the page read the organisation's whole log (16 s at a million conversations, bench/pages.py).
-- Statistics (0026) added the plain column events.conversation_id for the same reason, with an index on status
-- changes only; this one index serves both.
DROP INDEX events_conversation_idx;
DROP INDEX events_status_changes_idx;
CREATE INDEX events_conversation_idx ON events (org_id, conversation_id, seq) WHERE conversation_id IS NOT NULL;

-- A forum thread moved to a mailbox (0024) is the same conversation: statistics count it once, in the channel
-- it began in (issue 8), with that channel's kind, opening hours and target.
CREATE OR REPLACE VIEW stats_source WITH (security_invoker = true) AS
SELECT v.org_id, v.id AS conversation_id, ch.id AS channel_id,
       CASE ch.kind WHEN 'forum' THEN 'forum' ELSE 'mail' END AS kind,
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
JOIN channels ch ON ch.org_id = v.org_id AND ch.id = coalesce(v.origin_channel_id, v.channel_id)
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

-- Contributions already stored for moved threads follow the new definition.
DO $$
DECLARE o bigint;
BEGIN
    FOR o IN SELECT DISTINCT org_id FROM conversations WHERE origin_channel_id IS NOT NULL LOOP
        PERFORM stats_rebuild(o);
    END LOOP;
END $$;
