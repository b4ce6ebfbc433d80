-- Mail out (issue 7): an editor's reply in a mail case goes to the customer through a "mail.send"
-- job (app/mail/outgoing.py); how that went shows on the message. A mailbox may name its own relay.

-- delivery_state, NULL for every message that is not a reply sent by mail:
--   queued    the send job waits for a worker
--   retrying  the relay failed us for now (down, 4xx, timeout); delivery_error says how, the job retries with back-off
--   sent      the relay accepted it at sent_at
--   failed    refused for good (5xx, no usable address) or still failing after the job's last attempt
-- The reply's Message-ID (messages.mail_message_id) is set when it is queued, so every attempt sends the same one.
ALTER TABLE messages
    ADD COLUMN delivery_state text CHECK (delivery_state IN ('queued', 'sent', 'retrying', 'failed')),
    ADD COLUMN delivery_error text CHECK (length(delivery_error) <= 2000),
    ADD COLUMN sent_at timestamptz,
    -- the job that sends it: its attempts and next run, for the page and for operations
    ADD COLUMN send_job_id bigint,
    ADD FOREIGN KEY (org_id, send_job_id) REFERENCES jobs (org_id, id) ON DELETE SET NULL (send_job_id),
    ADD CHECK (delivery_state IS NULL OR kind = 'editor'),
    ADD CHECK ((delivery_state IS NOT DISTINCT FROM 'sent') = (sent_at IS NOT NULL));
CREATE INDEX messages_send_job_idx ON messages (org_id, send_job_id);

-- A mailbox's own relay, else SMTP_RELAY_HOST / SMTP_RELAY_PORT. Either column alone overrides
-- its half; the environment's relay credentials are never sent to a mailbox's own host.
ALTER TABLE channels
    ADD COLUMN relay_host text CHECK (relay_host ~ '^[A-Za-z0-9.:-]{1,253}$'),
    ADD COLUMN relay_port integer CHECK (relay_port BETWEEN 1 AND 65535),
    ADD CHECK (kind = 'mailbox' OR (relay_host IS NULL AND relay_port IS NULL));
