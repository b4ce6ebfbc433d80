-- Search (issue 7): full text over messages and subjects in Swedish and English (app/search.py).
-- Generated columns, so every row written by any path (domain functions, the volume generator's
-- COPY, a restore) is indexed, and adding them backfills. Each adds a table rewrite, once.

-- A message's words, stemmed by its language: Swedish, English, or both when it was stored
-- without one or in another (Norwegian and Danish stem acceptably with the Swedish rules, and
-- the English half keeps English mail findable). left(): a tsvector holds at most 1 MB, and a
-- body_text is at most 100 000 characters from the editor but a parsed mail may be longer.
ALTER TABLE messages ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    CASE language
        WHEN 'sv' THEN to_tsvector('swedish', left(body_text, 100000))
        WHEN 'en' THEN to_tsvector('english', left(body_text, 100000))
        ELSE to_tsvector('swedish', left(body_text, 100000)) || to_tsvector('english', left(body_text, 100000))
    END) STORED;

-- A subject in both languages (conversations carry no language of their own); weight A ranks a
-- subject hit above a body hit.
ALTER TABLE conversations ADD COLUMN subject_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('swedish', subject) || to_tsvector('english', subject), 'A')) STORED;

-- search(): messages WHERE org_id = $1 AND search_vector @@ websearch_to_tsquery('swedish', $q)
-- || websearch_to_tsquery('english', $q). Plain GIN, no btree_gin: one organisation holds the
-- volume, so an org_id key in the index would only add its whole posting list to every AND;
-- org_id (and row-level security) filter the few matching rows after the bitmap.
CREATE INDEX messages_search_idx ON messages USING gin (search_vector);

-- search(): conversations WHERE org_id = $1 AND subject_vector @@ (same query).
CREATE INDEX conversations_search_idx ON conversations USING gin (subject_vector);
