-- Row-level security keeps the planner from using a GIN index for `search_vector @@ query`:
-- the @@ operator is not LEAKPROOF, so it may only run after the policy's filter, row by row,
-- and a search through the app's role read every message (a second at a million conversations).
-- This function runs as the tables' owner, so the index is used, and it is scoped by the
-- session's own organisation (current_org_id(), never a parameter), as the policies are.
CREATE FUNCTION search_matches(p_query tsquery)
RETURNS TABLE (conversation_id bigint, at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp ROWS 200 AS $$
    SELECT conversation_id, created_at FROM messages
    WHERE org_id = current_org_id() AND search_vector @@ p_query
    UNION ALL
    SELECT id, last_message_at FROM conversations
    WHERE org_id = current_org_id() AND subject_vector @@ p_query
$$;
