-- Accounts that need mail (issue 7): invites go out by mail, "forgot password" sends a reset link,
-- and an admin can remove a member. Links are never stored: the worker signs them when it sends
-- (app/mail/account_mail.py), so a job's payload holds only the invite's or the person's id.

-- A removed member's membership is ended, never deleted: their messages keep their author, their
-- name stays readable to the organisation, and a new invite can start it again.
ALTER TABLE memberships
    ADD COLUMN ended_at timestamptz,
    ADD COLUMN ended_by bigint REFERENCES users (id) ON DELETE SET NULL;
CREATE INDEX memberships_ended_by_idx ON memberships (ended_by);

-- An invite's mail, NULL for invites made before mail (their link was passed on by hand):
--   queued    the job waits for a worker;  retrying  the relay failed us for now (mail_error says how)
--   sent      the relay accepted it;       failed    refused for good, or failing after the last attempt
ALTER TABLE invites
    ADD COLUMN mail_state text CHECK (mail_state IN ('queued', 'retrying', 'sent', 'failed')),
    ADD COLUMN mail_error text CHECK (length(mail_error) <= 2000),
    ADD COLUMN mail_job_id bigint,
    ADD FOREIGN KEY (org_id, mail_job_id) REFERENCES jobs (org_id, id) ON DELETE SET NULL (mail_job_id);
CREATE INDEX invites_mail_job_idx ON invites (org_id, mail_job_id);

-- Every way into an organisation now passes only through a membership that has not ended.

CREATE OR REPLACE FUNCTION user_organizations(p_user_id bigint)
RETURNS TABLE (org_id bigint, name text, role text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT o.id, o.name, m.role FROM memberships m JOIN organizations o ON o.id = m.org_id
    WHERE m.user_id = p_user_id AND m.ended_at IS NULL ORDER BY o.name, o.id
$$;

CREATE OR REPLACE FUNCTION session_start(p_token_hash bytea, p_user_id bigint, p_csrf_token text,
                                         p_expires_at timestamptz)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE v_org_id bigint;
BEGIN
    SELECT m.org_id INTO v_org_id
    FROM memberships m JOIN users u ON u.id = m.user_id JOIN organizations o ON o.id = m.org_id
    WHERE m.user_id = p_user_id AND m.ended_at IS NULL
    ORDER BY (m.org_id = u.last_org_id) IS TRUE DESC, o.name, o.id LIMIT 1;
    IF v_org_id IS NULL THEN
        RETURN NULL;
    END IF;
    DELETE FROM sessions WHERE user_id = p_user_id AND expires_at < now();
    INSERT INTO sessions (token_hash, user_id, org_id, csrf_token, expires_at)
    VALUES (p_token_hash, p_user_id, v_org_id, p_csrf_token, p_expires_at);
    RETURN v_org_id;
END $$;

CREATE OR REPLACE FUNCTION session_lookup(p_token_hash bytea)
RETURNS TABLE (user_id bigint, org_id bigint, csrf_token text, name text, email text, locale text,
               role text, away boolean, org_name text, time_zone text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT s.user_id, s.org_id, s.csrf_token, u.name, u.email, u.locale, m.role, m.away, o.name, o.time_zone
    FROM sessions s
    JOIN users u ON u.id = s.user_id
    JOIN memberships m ON m.org_id = s.org_id AND m.user_id = s.user_id AND m.ended_at IS NULL
    JOIN organizations o ON o.id = s.org_id
    WHERE s.token_hash = p_token_hash AND s.expires_at > now()
$$;

CREATE OR REPLACE FUNCTION session_switch(p_token_hash bytea, p_org_id bigint)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE v_user_id bigint;
BEGIN
    UPDATE sessions s SET org_id = p_org_id
    WHERE s.token_hash = p_token_hash AND s.expires_at > now()
      AND EXISTS (SELECT 1 FROM memberships m
                  WHERE m.org_id = p_org_id AND m.user_id = s.user_id AND m.ended_at IS NULL)
    RETURNING s.user_id INTO v_user_id;
    IF v_user_id IS NULL THEN
        RETURN false;
    END IF;
    UPDATE users SET last_org_id = p_org_id WHERE id = v_user_id;
    RETURN true;
END $$;

-- A removed member's sessions in that organisation end; those in their other organisations go on.
CREATE FUNCTION sessions_end_in_org(p_user_id bigint, p_org_id bigint)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    DELETE FROM sessions WHERE user_id = p_user_id AND org_id = p_org_id
$$;

-- "Forgot password": who to mail and from which organisation's job queue (the one used last, else
-- the first by name). Nothing for an unknown address or someone no longer in any organisation.
CREATE FUNCTION password_reset_target(p_email text)
RETURNS TABLE (user_id bigint, org_id bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT u.id, m.org_id
    FROM users u JOIN memberships m ON m.user_id = u.id AND m.ended_at IS NULL
    JOIN organizations o ON o.id = m.org_id
    WHERE u.email = p_email
    ORDER BY (m.org_id = u.last_org_id) IS TRUE DESC, o.name, o.id LIMIT 1
$$;

-- The language of an invite's mail: that of the address's account where there is one.
CREATE FUNCTION account_locale(p_email text)
RETURNS text LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT locale FROM users WHERE email = p_email
$$;
