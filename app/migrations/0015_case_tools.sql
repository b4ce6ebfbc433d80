-- Tools for working cases (issue 7): spam, blocked senders, automatic assignment per mailbox,
-- split and merge, and the case's timeline read from the event log.

-- Split: the new case remembers the case it came out of and why. Merge: the merged case points at the
-- case that took its messages, so its page and its case number lead there.
ALTER TABLE conversations
    ADD COLUMN split_from_id bigint,
    ADD COLUMN split_reason text CHECK (length(split_reason) BETWEEN 1 AND 500),
    ADD COLUMN merged_into_id bigint CHECK (merged_into_id <> id),
    ADD FOREIGN KEY (org_id, split_from_id) REFERENCES conversations (org_id, id) ON DELETE SET NULL (split_from_id),
    ADD FOREIGN KEY (org_id, merged_into_id) REFERENCES conversations (org_id, id) ON DELETE SET NULL (merged_into_id);
CREATE INDEX conversations_split_from_idx ON conversations (org_id, split_from_id);
CREATE INDEX conversations_merged_into_idx ON conversations (org_id, merged_into_id);

-- The case page's timeline: a conversation's events without scanning the organisation's log.
CREATE INDEX events_conversation_idx ON events (org_id, (payload->>'conversation_id'), seq)
    WHERE payload ? 'conversation_id';

-- Automatic assignment of new mail cases: off, round robin (after the member assigned last), or the
-- member with the fewest open cases. Only editors and admins who are not away take cases.
ALTER TABLE channels
    ADD COLUMN auto_assign text NOT NULL DEFAULT 'off' CHECK (auto_assign IN ('off', 'round_robin', 'least_loaded')),
    ADD COLUMN last_assigned_id bigint,
    ADD FOREIGN KEY (org_id, last_assigned_id) REFERENCES memberships (org_id, user_id)
        ON DELETE SET NULL (last_assigned_id);
CREATE INDEX channels_last_assigned_idx ON channels (org_id, last_assigned_id);

-- Blocked senders: an address (karin@example.se) or a whole domain (example.se). Their mail is still
-- stored raw, then set aside as 'blocked': no case, no notification, visible to editors.
CREATE TABLE blocked_senders (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id          bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    pattern         text NOT NULL CHECK (pattern = lower(pattern) AND length(pattern) BETWEEN 3 AND 254),
    blocked_by      bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, pattern),
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, blocked_by) REFERENCES memberships (org_id, user_id) ON DELETE SET NULL (blocked_by)
);
CREATE INDEX blocked_senders_blocked_by_idx ON blocked_senders (org_id, blocked_by);
ALTER TABLE blocked_senders ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON blocked_senders USING (org_id = current_org_id());

ALTER TABLE raw_mails DROP CONSTRAINT raw_mails_state_check;
ALTER TABLE raw_mails ADD CONSTRAINT raw_mails_state_check
    CHECK (state IN ('new', 'parsed', 'unreadable', 'ignored', 'blocked'));
DROP INDEX raw_mails_unplaced_idx;
CREATE INDEX raw_mails_unplaced_idx ON raw_mails (org_id, received_at DESC)
    WHERE state IN ('unreadable', 'ignored', 'blocked');

-- Least loaded: each candidate's open cases, counted from this index alone.
CREATE INDEX conversations_open_assignee_idx ON conversations (org_id, assignee_id)
    WHERE status = 'open' AND NOT spam;
