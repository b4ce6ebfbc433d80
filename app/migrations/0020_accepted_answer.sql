-- A forum thread's accepted answer (issue 8): the editor marks one answer as the one that solved it.
-- Kept on the message, so the forum shows it and statistics read it as the thread's resolution (issue 10).
ALTER TABLE messages ADD COLUMN accepted_at timestamptz;
-- At most one accepted answer per thread.
CREATE UNIQUE INDEX messages_accepted_idx ON messages (org_id, conversation_id) WHERE accepted_at IS NOT NULL;
