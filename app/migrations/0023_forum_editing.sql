-- The forum's editor workflow (issue 8): pinned threads in the editors' order, and a thread's earlier
-- headlines and texts (its revisions) when an editor edits it.

-- Pinned threads come first on the forum's start page, lowest position first; NULL: not pinned.
ALTER TABLE conversations ADD COLUMN pinned_position integer;
-- The start page's pinned threads, and the next position when one more is pinned.
CREATE INDEX conversations_forum_pinned_idx ON conversations (org_id, channel_id, pinned_position)
    WHERE pinned_position IS NOT NULL;

-- What a thread said before an editor changed it: its headline and its opening post's text, with who changed it.
CREATE TABLE forum_revisions (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id          bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    conversation_id bigint NOT NULL,
    subject         text NOT NULL,
    body_text       text NOT NULL,
    editor_id       bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, conversation_id) REFERENCES conversations (org_id, id) ON DELETE CASCADE
);
-- a thread's revisions, newest first (the case page), and whether it was edited (the public page)
CREATE INDEX forum_revisions_conversation_idx ON forum_revisions (org_id, conversation_id, created_at DESC);
CREATE INDEX forum_revisions_editor_idx ON forum_revisions (editor_id);

ALTER TABLE forum_revisions ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON forum_revisions USING (org_id = current_org_id());

-- A forum's public search (app/forum_search.py): whether the organisation's messages hold more than p_limit
-- matches of a query. A rare word is found fastest through search_matches() (0017); a common one would
-- make that read every match in the organisation, so the forum's own threads are walked instead. The
-- LIMIT stops the heap reads early; as search_matches(), it runs as the tables' owner, scoped by the
-- session's own organisation.
CREATE FUNCTION search_matches_more_than(p_query tsquery, p_limit integer)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT count(*) > p_limit FROM (
        SELECT 1 FROM messages WHERE org_id = current_org_id() AND search_vector @@ p_query LIMIT p_limit + 1) m
$$;
