-- Canned replies: the team's library of ready answers, for every mailbox and forum or for one.
CREATE TABLE canned_replies (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id          bigint NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    channel_id      bigint,  -- NULL: offered in every channel
    title           text NOT NULL CHECK (length(title) BETWEEN 1 AND 100),
    -- typed as /shortcut in a reply to insert the text
    shortcut        text CHECK (shortcut ~ '^[a-z0-9åäö-]{1,30}$'),
    body            text NOT NULL CHECK (length(body) BETWEEN 1 AND 20000),
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, channel_id) REFERENCES channels (org_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX canned_replies_shortcut_idx ON canned_replies (org_id, shortcut) WHERE shortcut IS NOT NULL;
-- the replies offered on a case: its channel's and everyone's; also under the channel FK
CREATE INDEX canned_replies_channel_idx ON canned_replies (org_id, channel_id);

ALTER TABLE canned_replies ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON canned_replies USING (org_id = current_org_id());
