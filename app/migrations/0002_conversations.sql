-- Channels, customers and the one conversations table for mail cases and forum threads.
-- Composite foreign keys on (org_id, id) make a row that points into another organisation impossible.

CREATE TABLE channels (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id          bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('forum', 'mailbox')),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    colour          text NOT NULL,
    -- a mailbox's e-mail address or a forum's public slug; unique across all organisations so
    -- the SMTP ingress and public forum pages can route without knowing the tenant
    address         text NOT NULL CHECK (address = lower(address) AND length(address) BETWEEN 2 AND 254),
    response_target_minutes integer NOT NULL DEFAULT 480 CHECK (response_target_minutes > 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (address),
    UNIQUE (org_id, id)
);

CREATE TABLE customers (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id          bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name            text NOT NULL DEFAULT '',
    email           text CHECK (email = lower(email)),
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, id)
);
CREATE UNIQUE INDEX customers_email_idx ON customers (org_id, email) WHERE email IS NOT NULL;

CREATE TABLE conversations (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id          bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    case_number     bigint NOT NULL,
    channel_id      bigint NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('mail', 'forum')),
    customer_id     bigint,
    subject         text NOT NULL DEFAULT '',
    status          text NOT NULL DEFAULT 'open',
    spam            boolean NOT NULL DEFAULT false,
    assignee_id     bigint,
    needs_reply     boolean NOT NULL DEFAULT false,
    follow_up_at    timestamptz,
    first_response_at timestamptz,
    sentiment       text CHECK (sentiment IN ('neg', 'neu', 'pos')),
    visitor         jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    last_message_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, case_number),
    UNIQUE (org_id, id),
    CHECK ((kind = 'mail' AND status IN ('open', 'waiting', 'closed'))
        OR (kind = 'forum' AND status IN ('open', 'archived', 'hidden'))),
    FOREIGN KEY (org_id, channel_id) REFERENCES channels (org_id, id),
    FOREIGN KEY (org_id, customer_id) REFERENCES customers (org_id, id),
    FOREIGN KEY (org_id, assignee_id) REFERENCES memberships (org_id, user_id) ON DELETE SET NULL (assignee_id)
);
-- The dashboard queue: open conversations in arrival order.
CREATE INDEX conversations_queue_idx ON conversations (org_id, created_at DESC) WHERE status = 'open' AND NOT spam;
CREATE INDEX conversations_channel_idx ON conversations (org_id, channel_id, created_at DESC);

CREATE TABLE messages (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id          bigint NOT NULL,
    conversation_id bigint NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('customer', 'editor', 'note', 'comment')),
    author_id       bigint REFERENCES users (id) ON DELETE SET NULL,
    customer_id     bigint,
    body_text       text NOT NULL DEFAULT '',
    body_html       text,
    language        text,
    sentiment       text CHECK (sentiment IN ('neg', 'neu', 'pos')),
    no_reply_needed boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (org_id, conversation_id) REFERENCES conversations (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, customer_id) REFERENCES customers (org_id, id)
);
CREATE INDEX messages_conversation_idx ON messages (org_id, conversation_id, created_at, id);

CREATE TABLE tag_groups (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id          bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    UNIQUE (org_id, id),
    UNIQUE (org_id, name)
);

CREATE TABLE tags (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id          bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    group_id        bigint,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    UNIQUE (org_id, id),
    UNIQUE (org_id, name),
    FOREIGN KEY (org_id, group_id) REFERENCES tag_groups (org_id, id) ON DELETE SET NULL (group_id)
);

CREATE TABLE conversation_tags (
    org_id          bigint NOT NULL,
    conversation_id bigint NOT NULL,
    tag_id          bigint NOT NULL,
    PRIMARY KEY (org_id, conversation_id, tag_id),
    FOREIGN KEY (org_id, conversation_id) REFERENCES conversations (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, tag_id) REFERENCES tags (org_id, id) ON DELETE CASCADE
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['channels', 'customers', 'conversations', 'messages',
                             'tag_groups', 'tags', 'conversation_tags'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant ON %I USING (org_id = current_org_id())', t);
    END LOOP;
END $$;
