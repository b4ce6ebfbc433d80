-- IMAP polling keyed on (UIDVALIDITY, UID), as ../shared/RELIABILITY.md asks: a mail someone opened in
-- another mail program before the poll (so no longer unseen) still comes in. What the folder's UIDs say
-- has been stored is bookkeeping of the poll, beside how it went (app/mail/imap.py).
ALTER TABLE imap_polls
    -- the folder's UIDVALIDITY that last_uid counts in; another one (a folder recreated, a server moved)
    -- means its UIDs were renumbered: the poll starts again from the unseen mail, the de-duplication
    -- keeping what was stored once
    ADD COLUMN uid_validity bigint CHECK (uid_validity > 0),
    -- every mail of the folder up to this UID is stored (or was too big to take); NULL: not known yet
    ADD COLUMN last_uid bigint CHECK (last_uid >= 0);
