-- Follow-ups and in-app notifications (issue 7). A case's follow-up time (conversations.follow_up_at,
-- since 0002) comes due in a worker sweep, which notifies the assignee or the team, exactly once.

-- Set by the sweep when the follow-up came due and its notifications went out; setting a new time
-- clears it. The case page and the queue row show "due" from it.
ALTER TABLE conversations ADD COLUMN follow_up_due boolean NOT NULL DEFAULT false;
ALTER TABLE conversations ADD CONSTRAINT conversations_follow_up_due_check
    CHECK (NOT follow_up_due OR follow_up_at IS NOT NULL);

-- The dashboard's follow-up view: an organisation's follow-ups in time order (due ones first).
CREATE INDEX conversations_follow_up_idx ON conversations (org_id, follow_up_at, id)
    WHERE follow_up_at IS NOT NULL;
-- The sweep: follow-ups not yet notified, across organisations, earliest first.
CREATE INDEX conversations_follow_up_pending_idx ON conversations (follow_up_at)
    WHERE follow_up_at IS NOT NULL AND NOT follow_up_due;

-- The sweep finds due follow-ups across organisations, like the job claim; it only reads. Each is
-- then claimed and notified in its own organisation's transaction, under row-level security.
CREATE FUNCTION due_follow_ups(p_limit integer)
RETURNS TABLE (org_id bigint, id bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT org_id, id FROM conversations
    WHERE follow_up_at IS NOT NULL AND NOT follow_up_due AND follow_up_at <= now()
    ORDER BY follow_up_at, id
    LIMIT p_limit
$$;

-- One person's notification in one organisation: a follow-up came due, or someone assigned them a case.
CREATE TABLE notifications (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id          bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         bigint NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('follow_up_due', 'assigned')),
    conversation_id bigint NOT NULL,
    actor_id        bigint,  -- who assigned the case; NULL for a follow-up
    created_at      timestamptz NOT NULL DEFAULT now(),
    read_at         timestamptz,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, user_id) REFERENCES memberships (org_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, conversation_id) REFERENCES conversations (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, actor_id) REFERENCES memberships (org_id, user_id) ON DELETE SET NULL (actor_id)
);
-- A person's list, newest first; also under the (org_id, user_id) key.
CREATE INDEX notifications_user_idx ON notifications (org_id, user_id, created_at DESC, id DESC);
-- The header's unread count.
CREATE INDEX notifications_unread_idx ON notifications (org_id, user_id) WHERE read_at IS NULL;
CREATE INDEX notifications_conversation_idx ON notifications (org_id, conversation_id);
CREATE INDEX notifications_actor_idx ON notifications (org_id, actor_id);

ALTER TABLE notifications ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON notifications USING (org_id = current_org_id());
