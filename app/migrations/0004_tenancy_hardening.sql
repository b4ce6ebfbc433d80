-- Hardening: people and sessions are no longer readable wholesale by the app role, the
-- cross-tenant functions cannot be fooled by a temporary table, and authors are members.
-- (The app role's table privileges are set by the migration runner: see APP_GRANTS in app/db.py.)

-- The person a transaction acts for, where it acts on their own account (language, password).
CREATE FUNCTION current_user_id() RETURNS bigint
LANGUAGE sql STABLE AS $$ SELECT NULLIF(current_setting('app.user_id', true), '')::bigint $$;

-- pg_temp last: otherwise a temporary table named like one of ours would be read first.
ALTER FUNCTION create_organization(text, text) SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION user_organizations(bigint) SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION invite_for_link(bigint) SET search_path = pg_catalog, public, pg_temp;

-- A person is visible to themselves and to the organisations they belong to; only their own
-- transactions change their row. New people come from create_account().
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY member_or_self ON users FOR SELECT USING (
    id = current_user_id()
    OR EXISTS (SELECT 1 FROM memberships m WHERE m.org_id = current_org_id() AND m.user_id = users.id));
CREATE POLICY self ON users FOR UPDATE USING (id = current_user_id());

-- The hash to verify a login against; knowing the e-mail address is the price of asking.
CREATE FUNCTION login_credentials(p_email text)
RETURNS TABLE (id bigint, password_hash text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT id, password_hash FROM users WHERE email = p_email
$$;

-- A new person; NULL when the address already has an account.
CREATE FUNCTION create_account(p_email text, p_name text, p_password_hash text, p_locale text,
                               p_last_org_id bigint DEFAULT NULL)
RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    INSERT INTO users (email, name, password_hash, locale, last_org_id)
    VALUES (p_email, p_name, p_password_hash, p_locale, p_last_org_id)
    ON CONFLICT (email) DO NOTHING RETURNING id
$$;

-- Sessions are reached only through these functions, each by the secret token's hash (or, to
-- end them all, by the person): the app role cannot list sessions or read their CSRF tokens.

-- A new session in the organisation used last (else the first by name); NULL without any.
CREATE FUNCTION session_start(p_token_hash bytea, p_user_id bigint, p_csrf_token text, p_expires_at timestamptz)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE v_org_id bigint;
BEGIN
    SELECT m.org_id INTO v_org_id
    FROM memberships m JOIN users u ON u.id = m.user_id JOIN organizations o ON o.id = m.org_id
    WHERE m.user_id = p_user_id
    ORDER BY (m.org_id = u.last_org_id) IS TRUE DESC, o.name, o.id LIMIT 1;
    IF v_org_id IS NULL THEN
        RETURN NULL;
    END IF;
    DELETE FROM sessions WHERE user_id = p_user_id AND expires_at < now();
    INSERT INTO sessions (token_hash, user_id, org_id, csrf_token, expires_at)
    VALUES (p_token_hash, p_user_id, v_org_id, p_csrf_token, p_expires_at);
    RETURN v_org_id;
END $$;

-- The live session with its person and their membership where it is; nothing once the
-- session expired or the membership is gone.
CREATE FUNCTION session_lookup(p_token_hash bytea)
RETURNS TABLE (user_id bigint, org_id bigint, csrf_token text, name text, email text, locale text,
               role text, away boolean, org_name text, time_zone text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT s.user_id, s.org_id, s.csrf_token, u.name, u.email, u.locale, m.role, m.away, o.name, o.time_zone
    FROM sessions s
    JOIN users u ON u.id = s.user_id
    JOIN memberships m ON m.org_id = s.org_id AND m.user_id = s.user_id
    JOIN organizations o ON o.id = s.org_id
    WHERE s.token_hash = p_token_hash AND s.expires_at > now()
$$;

CREATE FUNCTION session_end(p_token_hash bytea)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    DELETE FROM sessions WHERE token_hash = p_token_hash
$$;

CREATE FUNCTION sessions_end_for_user(p_user_id bigint)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    DELETE FROM sessions WHERE user_id = p_user_id
$$;

-- Move a session to another organisation of the same person; false when they are no member there.
CREATE FUNCTION session_switch(p_token_hash bytea, p_org_id bigint)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE v_user_id bigint;
BEGIN
    UPDATE sessions s SET org_id = p_org_id
    WHERE s.token_hash = p_token_hash AND s.expires_at > now()
      AND EXISTS (SELECT 1 FROM memberships m WHERE m.org_id = p_org_id AND m.user_id = s.user_id)
    RETURNING s.user_id INTO v_user_id;
    IF v_user_id IS NULL THEN
        RETURN false;
    END IF;
    UPDATE users SET last_org_id = p_org_id WHERE id = v_user_id;
    RETURN true;
END $$;

-- An author is a member of the message's organisation, not just anyone with an account.
-- Memberships with messages are kept (removing a member will deactivate, not delete).
ALTER TABLE messages DROP CONSTRAINT messages_author_id_fkey;
ALTER TABLE messages ADD CONSTRAINT messages_author_fkey
    FOREIGN KEY (org_id, author_id) REFERENCES memberships (org_id, user_id);
