-- The public forum (issue 8): a thread's topic type, a comment's place under the answer it comments on,
-- what a visitor's request told us about a post (editors only), and finding a forum by its slug before
-- the organisation is known.

ALTER TABLE conversations ADD COLUMN topic text CHECK (topic IN ('question', 'problem', 'idea', 'praise'));

ALTER TABLE messages
    ADD COLUMN parent_id bigint,
    -- a visitor's unverified e-mail, browser, operating system and referring page: never on public pages
    ADD COLUMN visitor jsonb,
    ADD FOREIGN KEY (org_id, parent_id) REFERENCES messages (org_id, id) ON DELETE CASCADE;
CREATE INDEX messages_parent_idx ON messages (org_id, parent_id);

-- A forum's start page: its listed threads by latest activity.
CREATE INDEX conversations_forum_start_idx ON conversations (org_id, channel_id, last_message_at DESC)
    WHERE kind = 'forum' AND status = 'open' AND NOT spam;

-- Public forum pages know only the slug in their URL; this narrow lookup gives the organisation to scope by.
CREATE FUNCTION forum_for_slug(p_slug text)
RETURNS TABLE (org_id bigint, channel_id bigint, channel_name text, colour text, org_name text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT c.org_id, c.id, c.name, c.colour, o.name FROM channels c JOIN organizations o ON o.id = c.org_id
    WHERE c.kind = 'forum' AND c.address = p_slug
$$;

-- "Me too" on ideas and problems: one vote per visitor, who is known by the e-mail address they give
-- (kept only as its sha256, so the votes hold no addresses); a second vote by the same address counts nothing.
CREATE TABLE forum_votes (
    org_id          bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    conversation_id bigint NOT NULL,
    voter           bytea NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, conversation_id, voter),
    FOREIGN KEY (org_id, conversation_id) REFERENCES conversations (org_id, id) ON DELETE CASCADE
);
ALTER TABLE forum_votes ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON forum_votes USING (org_id = current_org_id());
