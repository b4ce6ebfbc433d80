-- Indexes for a million conversations (issue 6): the dashboard's channel counts, and an index under
-- every foreign key, so deleting the row a key points at (a member, a customer, a tag) looks its
-- referencing rows up instead of scanning the whole table. tests/test_schema.py keeps it so.

-- Dashboard channel strip (app/channels.py CHANNELS): open, non-spam conversations per channel,
-- counted from this index alone instead of bitmap-scanning every open row once per channel.
CREATE INDEX conversations_open_channel_idx ON conversations (org_id, channel_id)
    WHERE status = 'open' AND NOT spam;

-- A customer's other conversations (customer history); FK (org_id, customer_id) -> customers.
CREATE INDEX conversations_customer_idx ON conversations (org_id, customer_id);

-- Conversations assigned to a member ("mine"); FK (org_id, assignee_id) -> memberships, whose
-- ON DELETE SET NULL rewrites a removed member's conversations.
CREATE INDEX conversations_assignee_idx ON conversations (org_id, assignee_id);

-- A customer's messages (erasing a customer's data); FK (org_id, customer_id) -> customers.
CREATE INDEX messages_customer_idx ON messages (org_id, customer_id);

-- A member's messages; FK (org_id, author_id) -> memberships (composite since 0004).
CREATE INDEX messages_author_idx ON messages (org_id, author_id);

-- The small tables' keys, so deleting an organisation, a person or a tag stays a lookup:
-- users.last_org_id -> organizations (ON DELETE SET NULL), on deleting an organisation.
CREATE INDEX users_last_org_idx ON users (last_org_id);
-- sessions.org_id -> organizations (ON DELETE CASCADE), on deleting an organisation.
CREATE INDEX sessions_org_idx ON sessions (org_id);
-- invites.invited_by -> users (ON DELETE SET NULL), on deleting a person.
CREATE INDEX invites_invited_by_idx ON invites (invited_by);
-- tags (org_id, group_id) -> tag_groups (ON DELETE SET NULL), on deleting a tag group.
CREATE INDEX tags_group_idx ON tags (org_id, group_id);
-- conversation_tags (org_id, tag_id) -> tags (ON DELETE CASCADE), on deleting a tag; also the
-- conversations that carry a tag.
CREATE INDEX conversation_tags_tag_idx ON conversation_tags (org_id, tag_id);
