-- Organisations, people, sessions and the event log: what every later feature stands on.
-- Row-level security is the backstop beneath every query's own org_id filter: the app's
-- role does not own these tables, and the transaction helper sets app.org_id per transaction.

CREATE FUNCTION current_org_id() RETURNS bigint
LANGUAGE sql STABLE AS $$ SELECT NULLIF(current_setting('app.org_id', true), '')::bigint $$;

CREATE TABLE organizations (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    time_zone       text NOT NULL DEFAULT 'Europe/Stockholm',
    last_event_seq  bigint NOT NULL DEFAULT 0,
    last_case_number bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email           text NOT NULL CHECK (email = lower(email) AND email LIKE '%_@_%'),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    password_hash   text NOT NULL,
    locale          text NOT NULL DEFAULT 'sv' CHECK (locale IN ('sv', 'en')),
    last_org_id     bigint REFERENCES organizations (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (email)
);

CREATE TABLE memberships (
    org_id          bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            text NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    away            boolean NOT NULL DEFAULT false,
    away_since      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user_idx ON memberships (user_id);

-- Sessions live in PostgreSQL so a logout or revoked access takes effect everywhere at once.
CREATE TABLE sessions (
    token_hash      bytea PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    org_id          bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    csrf_token      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE invites (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id          bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email           text NOT NULL CHECK (email = lower(email)),
    role            text NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    invited_by      bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    accepted_at     timestamptz
);
CREATE INDEX invites_org_idx ON invites (org_id, created_at DESC);

-- The one write path: every change appends an event with the organisation's next seq.
CREATE TABLE events (
    org_id          bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    seq             bigint NOT NULL,
    kind            text NOT NULL,
    payload         jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, seq)
);

ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON organizations USING (id = current_org_id());
ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON memberships USING (org_id = current_org_id());
ALTER TABLE invites ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON invites USING (org_id = current_org_id());
ALTER TABLE events ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON events USING (org_id = current_org_id());

-- The few lookups that must cross tenants, each narrow and owned by the table owner.

CREATE FUNCTION create_organization(p_name text, p_time_zone text DEFAULT 'Europe/Stockholm')
RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = public AS $$
    INSERT INTO organizations (name, time_zone) VALUES (p_name, p_time_zone) RETURNING id
$$;

-- The organisations a person may switch between (login, the organisation menu).
CREATE FUNCTION user_organizations(p_user_id bigint)
RETURNS TABLE (org_id bigint, name text, role text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT o.id, o.name, m.role FROM memberships m JOIN organizations o ON o.id = m.org_id
    WHERE m.user_id = p_user_id ORDER BY o.name, o.id
$$;

-- An invite link names only the invite; the organisation comes from here.
CREATE FUNCTION invite_for_link(p_invite_id bigint)
RETURNS TABLE (id bigint, org_id bigint, org_name text, email text, role text, accepted_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT i.id, i.org_id, o.name, i.email, i.role, i.accepted_at
    FROM invites i JOIN organizations o ON o.id = i.org_id WHERE i.id = p_invite_id
$$;
