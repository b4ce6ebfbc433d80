-- Mail in: every mail the ingress accepted, kept verbatim; attachments as content-addressed blobs;
-- the mail headers a message needs for threading; a mailbox's ingress address.

-- The address the team's own mail server forwards to is this local part under INGRESS_DOMAIN
-- (unguessable, so strangers cannot post into a mailbox by it); a mailbox's public address
-- routes too, for teams that point their MX here.
ALTER TABLE channels ADD COLUMN ingress_local_part text CHECK (ingress_local_part ~ '^[a-z0-9][a-z0-9-]{5,62}$');
ALTER TABLE channels ADD CONSTRAINT channels_ingress_local_part_key UNIQUE (ingress_local_part);
UPDATE channels SET ingress_local_part = 'inbox-' || substr(md5(random()::text || id::text), 1, 12)
WHERE kind = 'mailbox';
ALTER TABLE channels ADD CHECK ((kind = 'mailbox') = (ingress_local_part IS NOT NULL));

-- Kept verbatim until a customer's data is erased or a retention rule removes it: a mail that
-- cannot be parsed stays readable and downloadable for editors.
CREATE TABLE raw_mails (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id          bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    channel_id      bigint NOT NULL,
    -- SMTP delivers at least once: the same mail again (same Message-ID, same content) is stored once
    message_id      text,
    content_hash    bytea NOT NULL,
    envelope_from   text NOT NULL DEFAULT '',
    envelope_to     text NOT NULL DEFAULT '',
    raw             bytea NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    -- new: waiting for its parse job; parsed: in a conversation; unreadable: kept raw for editors;
    -- ignored: an auto-reply or bounce with no case to join (kept, never answered)
    state           text NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'parsed', 'unreadable', 'ignored')),
    problem         text,
    conversation_id bigint,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, channel_id) REFERENCES channels (org_id, id),
    FOREIGN KEY (org_id, conversation_id) REFERENCES conversations (org_id, id) ON DELETE SET NULL (conversation_id)
);
CREATE UNIQUE INDEX raw_mails_once_idx ON raw_mails (org_id, coalesce(message_id, ''), content_hash);
CREATE INDEX raw_mails_channel_idx ON raw_mails (org_id, channel_id, received_at DESC);
-- the editors' list of mails that are not in a conversation
CREATE INDEX raw_mails_unplaced_idx ON raw_mails (org_id, received_at DESC) WHERE state IN ('unreadable', 'ignored');
CREATE INDEX raw_mails_conversation_idx ON raw_mails (org_id, conversation_id);

-- How a mail joined its conversation, and the ids its replies will name.
ALTER TABLE messages
    ADD COLUMN mail_message_id text,
    ADD COLUMN raw_mail_id bigint,
    ADD COLUMN joined_by text CHECK (joined_by IN ('header', 'case_number', 'new')),
    ADD COLUMN auto_submitted boolean NOT NULL DEFAULT false,
    ADD FOREIGN KEY (org_id, raw_mail_id) REFERENCES raw_mails (org_id, id);
-- threading: which message (and so which case) a mail's In-Reply-To / References name
CREATE INDEX messages_mail_id_idx ON messages (org_id, mail_message_id) WHERE mail_message_id IS NOT NULL;
CREATE INDEX messages_raw_mail_idx ON messages (org_id, raw_mail_id);

-- File contents by sha256, once per organisation (never shared across tenants, so whether a file
-- exists elsewhere cannot be learned).
CREATE TABLE blobs (
    org_id          bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    sha256          bytea NOT NULL,
    size            bigint NOT NULL,
    data            bytea NOT NULL,
    PRIMARY KEY (org_id, sha256)
);

ALTER TABLE messages ADD UNIQUE (org_id, id);

CREATE TABLE attachments (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id          bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    message_id      bigint NOT NULL,
    sha256          bytea NOT NULL,
    filename        text NOT NULL,
    content_type    text NOT NULL,
    content_id      text,
    inline          boolean NOT NULL DEFAULT false,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, message_id) REFERENCES messages (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, sha256) REFERENCES blobs (org_id, sha256)
);
CREATE INDEX attachments_message_idx ON attachments (org_id, message_id);
CREATE INDEX attachments_blob_idx ON attachments (org_id, sha256);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['raw_mails', 'blobs', 'attachments'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant ON %I USING (org_id = current_org_id())', t);
    END LOOP;
END $$;

-- The ingress routes by envelope recipient before it knows the organisation: by the ingress
-- local part (p_local_part, when the recipient is under INGRESS_DOMAIN) or the public address.
CREATE FUNCTION mailbox_for_address(p_local_part text, p_address text)
RETURNS TABLE (org_id bigint, channel_id bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT c.org_id, c.id FROM channels c
    WHERE c.kind = 'mailbox' AND (c.ingress_local_part = p_local_part OR c.address = p_address)
    ORDER BY c.ingress_local_part = p_local_part DESC LIMIT 1
$$;
