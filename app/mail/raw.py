"""Reading what mail left behind: the stored originals and attachments, for editors."""
from __future__ import annotations

from app.db import Database

UNPLACED = """
SELECT r.id, r.state, r.problem, r.received_at, r.envelope_from, length(r.raw) AS size, ch.name AS channel_name,
       ch.colour AS channel_colour
FROM raw_mails r JOIN channels ch ON ch.org_id = r.org_id AND ch.id = r.channel_id
WHERE r.org_id = $1 AND r.state IN ('unreadable', 'ignored', 'blocked') {where}
ORDER BY r.received_at DESC, r.id DESC
"""


async def unplaced(db: Database, org_id: int, limit: int = 200) -> list:
    """Mails that are in no conversation (unreadable, an auto-reply to nothing, or from a blocked sender), newest first."""
    return await db.read(org_id, UNPLACED.format(where="") + " LIMIT $2", org_id, limit)


async def original(db: Database, org_id: int, raw_mail_id: int):
    """A stored mail with its bytes (NotFound outside the organisation)."""
    return await db.read_one(
        org_id, """SELECT r.id, r.state, r.problem, r.received_at, r.envelope_from, r.envelope_to, r.raw,
                          r.conversation_id, ch.name AS channel_name
                   FROM raw_mails r JOIN channels ch ON ch.org_id = r.org_id AND ch.id = r.channel_id
                   WHERE r.org_id = $1 AND r.id = $2""", org_id, raw_mail_id)


async def attachment(db: Database, org_id: int, attachment_id: int):
    """An attachment's name, type and file (NotFound outside the organisation)."""
    return await db.read_one(
        org_id, """SELECT a.filename, a.content_type, b.data FROM attachments a
                   JOIN blobs b ON b.org_id = a.org_id AND b.sha256 = a.sha256
                   WHERE a.org_id = $1 AND a.id = $2""", org_id, attachment_id)


async def attachments_of(db: Database, org_id: int, conversation_id: int) -> dict[int, list]:
    """The attachments of a conversation's messages, by message id."""
    rows = await db.read(
        org_id, """SELECT a.id, a.message_id, a.filename, a.content_type, b.size FROM attachments a
                   JOIN messages m ON m.org_id = a.org_id AND m.id = a.message_id
                   JOIN blobs b ON b.org_id = a.org_id AND b.sha256 = a.sha256
                   WHERE a.org_id = $1 AND m.conversation_id = $2 ORDER BY a.id""", org_id, conversation_id)
    by_message: dict[int, list] = {}
    for r in rows:
        by_message.setdefault(r["message_id"], []).append(r)
    return by_message
