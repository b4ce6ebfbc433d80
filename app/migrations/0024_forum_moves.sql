-- Moving between forum and mail, visitors' confirmed addresses and answer notifications, and the
-- embeddable form (issue 8). See app/forum_moves.py, app/visitor_mail.py and app/web/forum_embed.py.

-- Where a conversation began, once it moved (NULL: where it is). Statistics count a conversation
-- once, in COALESCE(origin_channel_id, channel_id).
ALTER TABLE conversations ADD COLUMN origin_channel_id bigint,
    ADD FOREIGN KEY (org_id, origin_channel_id) REFERENCES channels (org_id, id);
CREATE INDEX conversations_origin_channel_idx ON conversations (org_id, origin_channel_id);

-- The sites allowed to frame a forum's embeddable form (CSP frame-ancestors), as origins.
ALTER TABLE channels ADD COLUMN embed_origins text[] NOT NULL DEFAULT '{}',
    ADD CHECK (kind = 'forum' OR embed_origins = '{}'),
    ADD CHECK (cardinality(embed_origins) <= 20);

-- A visitor's e-mail address, unverified until they open the link we mailed them (the link is signed
-- when the mail goes out and never stored). Mail of ours goes to an address only once it is confirmed.
CREATE TABLE visitor_addresses (
    org_id          bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email           text NOT NULL CHECK (length(email) <= 254),
    name            text NOT NULL DEFAULT '' CHECK (length(name) <= 200),
    locale          text NOT NULL DEFAULT 'sv' CHECK (locale IN ('sv', 'en')),
    confirmed_at    timestamptz,
    asked_at        timestamptz NOT NULL DEFAULT now(),  -- the last confirmation mail queued
    UNIQUE (org_id, id),
    UNIQUE (org_id, email)
);
ALTER TABLE visitor_addresses ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON visitor_addresses USING (org_id = current_org_id());

-- "Notify me of answers": a visitor follows a thread; each official answer or editor's comment is
-- mailed to a confirmed address, with a link to stop.
CREATE TABLE forum_subscriptions (
    org_id          bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id bigint NOT NULL,
    address_id      bigint NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, id),
    UNIQUE (org_id, conversation_id, address_id),
    FOREIGN KEY (org_id, conversation_id) REFERENCES conversations (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, address_id) REFERENCES visitor_addresses (org_id, id) ON DELETE CASCADE
);
CREATE INDEX forum_subscriptions_address_idx ON forum_subscriptions (org_id, address_id);
ALTER TABLE forum_subscriptions ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON forum_subscriptions USING (org_id = current_org_id());

-- A forum thread moved to a mailbox: the same conversation (case number, history) goes on as a mail
-- case; its public URL shows the editor's note instead. The mail to the customer (message_id) waits
-- for their address to be confirmed (address_id).
CREATE TABLE forum_moves (
    org_id           bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    conversation_id  bigint NOT NULL,
    forum_channel_id bigint NOT NULL,
    note             text NOT NULL CHECK (length(note) <= 2000),
    message_id       bigint NOT NULL,
    address_id       bigint NOT NULL,
    moved_by         bigint REFERENCES users (id) ON DELETE SET NULL,
    moved_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, conversation_id),
    FOREIGN KEY (org_id, conversation_id) REFERENCES conversations (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, forum_channel_id) REFERENCES channels (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, message_id) REFERENCES messages (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, address_id) REFERENCES visitor_addresses (org_id, id)
);
CREATE INDEX forum_moves_forum_idx ON forum_moves (org_id, forum_channel_id);
CREATE INDEX forum_moves_message_idx ON forum_moves (org_id, message_id);
CREATE INDEX forum_moves_address_idx ON forum_moves (org_id, address_id);
CREATE INDEX forum_moves_moved_by_idx ON forum_moves (moved_by);
ALTER TABLE forum_moves ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON forum_moves USING (org_id = current_org_id());

-- A mail case published as a new public thread (the editor's edited question and answer): linked, so
-- the case shows where it went and a moved thread's old URL leads to it.
CREATE TABLE forum_publications (
    org_id          bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    thread_id       bigint NOT NULL,
    source_id       bigint NOT NULL,
    published_by    bigint REFERENCES users (id) ON DELETE SET NULL,
    published_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, thread_id),
    FOREIGN KEY (org_id, thread_id) REFERENCES conversations (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, source_id) REFERENCES conversations (org_id, id) ON DELETE CASCADE
);
CREATE INDEX forum_publications_source_idx ON forum_publications (org_id, source_id);
CREATE INDEX forum_publications_by_idx ON forum_publications (published_by);
ALTER TABLE forum_publications ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON forum_publications USING (org_id = current_org_id());
