-- The reply composer (issue 7): Cc and Bcc on our mails, a mailbox's signature, files attached to
-- replies, new mails we start, and each person's server-side drafts.

-- Who else an editor's mail went to. Bcc is kept for the team to see; it never goes into the headers.
ALTER TABLE messages
    ADD COLUMN cc text[] NOT NULL DEFAULT '{}',
    ADD COLUMN bcc text[] NOT NULL DEFAULT '{}',
    ADD CHECK (kind = 'editor' OR (cc = '{}' AND bcc = '{}'));

-- Appended (as plain text, below "-- ") to every reply sent from the mailbox; admins set it.
ALTER TABLE channels
    ADD COLUMN signature text NOT NULL DEFAULT '' CHECK (length(signature) <= 2000),
    ADD CHECK (kind = 'mailbox' OR signature = '');

-- A reply (or, with no conversation, a new mail) being written: one per person per case, private to
-- its writer, saved as they type and when a send fails, emptied when it is sent.
CREATE TABLE drafts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id          bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         bigint NOT NULL,
    conversation_id bigint,  -- NULL: the person's new mail (/compose)
    channel_id      bigint,  -- a new mail's mailbox
    to_address      text NOT NULL DEFAULT '' CHECK (length(to_address) <= 1000),
    subject         text NOT NULL DEFAULT '' CHECK (length(subject) <= 1000),
    cc              text NOT NULL DEFAULT '' CHECK (length(cc) <= 10000),
    bcc             text NOT NULL DEFAULT '' CHECK (length(bcc) <= 10000),
    body            text NOT NULL DEFAULT '' CHECK (length(body) <= 200000),
    -- Counts the sends that emptied it. A page writes the draft of the generation it showed; once
    -- that one is sent, an autosave still on its way from that page is ignored (the sent text does
    -- not come back as a draft), and the next page shows the next generation.
    generation      integer NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, id),
    UNIQUE NULLS NOT DISTINCT (org_id, user_id, conversation_id),
    FOREIGN KEY (org_id, user_id) REFERENCES memberships (org_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, conversation_id) REFERENCES conversations (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, channel_id) REFERENCES channels (org_id, id) ON DELETE SET NULL (channel_id)
);
CREATE INDEX drafts_conversation_idx ON drafts (org_id, conversation_id);
CREATE INDEX drafts_channel_idx ON drafts (org_id, channel_id);

-- Files uploaded to a draft; stored content-addressed in blobs like incoming attachments, and
-- moved to the message's attachments when it is sent.
CREATE TABLE draft_files (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id          bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    draft_id        bigint NOT NULL,
    sha256          bytea NOT NULL,
    filename        text NOT NULL CHECK (length(filename) BETWEEN 1 AND 255),
    content_type    text NOT NULL,
    size            bigint NOT NULL,
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, draft_id) REFERENCES drafts (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, sha256) REFERENCES blobs (org_id, sha256)
);
CREATE INDEX draft_files_draft_idx ON draft_files (org_id, draft_id);
CREATE INDEX draft_files_blob_idx ON draft_files (org_id, sha256);

ALTER TABLE drafts ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON drafts USING (org_id = current_org_id());
ALTER TABLE draft_files ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON draft_files USING (org_id = current_org_id());
