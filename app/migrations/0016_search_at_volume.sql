-- Search at a million conversations (app/search.py, bench/search.py): words take their newest
-- matching messages and subjects, filters the newest matching conversations. Walking these
-- indexes newest first stops after a page for a common word or filter, where sorting every match
-- would not.
CREATE INDEX messages_newest_idx ON messages (org_id, created_at DESC);
CREATE INDEX conversations_newest_idx ON conversations (org_id, last_message_at DESC, id DESC);
