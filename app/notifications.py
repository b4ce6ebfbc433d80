"""Each person's in-app notifications: a follow-up came due, someone assigned them a case.

Notifications belong to one person in one organisation: every query names both, so a person in
two organisations sees each one's own, and no one reads another's. Each created or read
notification appends an event naming its person, whose pages' header count and list follow it.
"""
from __future__ import annotations

from app.actors import AnyActor, require
from app.db import Database, Tx
from app.errors import NotFound

KINDS = ("follow_up_due", "assigned")
LIST_LIMIT = 100

UNREAD = "SELECT count(*) FROM notifications WHERE org_id = $1 AND user_id = $2 AND read_at IS NULL"

LIST = """
SELECT n.id, n.kind, n.conversation_id, n.created_at, n.read_at, v.case_number, v.subject, a.name AS actor_name
FROM notifications n
JOIN conversations v ON v.org_id = n.org_id AND v.id = n.conversation_id
LEFT JOIN users a ON a.id = n.actor_id
WHERE n.org_id = $1 AND n.user_id = $2
ORDER BY n.created_at DESC, n.id DESC
LIMIT $3
"""


async def notify_in(tx: Tx, user_ids, kind: str, conversation_id: int, actor_id: int | None = None) -> list[int]:
    """Notify each of these people in the caller's transaction; returns the notifications' ids."""
    ids = []
    for user_id in sorted(set(user_ids)):
        notification_id = await tx.fetchval(
            """INSERT INTO notifications (org_id, user_id, kind, conversation_id, actor_id)
               VALUES ($1, $2, $3, $4, $5) RETURNING id""",
            tx.org_id, user_id, kind, conversation_id, actor_id)
        await tx.emit("notification.created", notification_id=notification_id, user_id=user_id,
                      conversation_id=conversation_id, reason=kind)
        ids.append(notification_id)
    return ids


async def unread_in(tx: Tx, org_id: int, user_id: int) -> int:
    return await tx.fetchval(UNREAD, org_id, user_id)


async def unread_count(db: Database, org_id: int, user_id: int) -> int:
    """How many of the person's notifications in this organisation are unread (the header's count)."""
    async with db.transaction(org_id, readonly=True) as tx:
        return await unread_in(tx, org_id, user_id)


async def of_person(db: Database, org_id: int, user_id: int, limit: int = LIST_LIMIT) -> list:
    """The person's notifications in this organisation, newest first, with their case."""
    return await db.read(org_id, LIST, org_id, user_id, limit)


async def open_notification(db: Database, actor: AnyActor, notification_id: int) -> int:
    """Mark one of the actor's own notifications read; returns its conversation. Others' are not found."""
    require(actor, "notification.read")
    async with db.transaction(actor.org_id) as tx:
        conversation_id = await tx.fetchval(
            "SELECT conversation_id FROM notifications WHERE org_id = $1 AND user_id = $2 AND id = $3",
            actor.org_id, actor.user_id, notification_id)
        if conversation_id is None:
            raise NotFound()
        if await tx.fetchval(
                """UPDATE notifications SET read_at = now()
                   WHERE org_id = $1 AND user_id = $2 AND id = $3 AND read_at IS NULL RETURNING 1""",
                actor.org_id, actor.user_id, notification_id):
            await tx.emit("notification.read", user_id=actor.user_id, notification_id=notification_id)
    return conversation_id


async def mark_all_read(db: Database, actor: AnyActor) -> int:
    """Mark every unread notification of the actor in this organisation read; returns how many."""
    require(actor, "notification.read")
    async with db.transaction(actor.org_id) as tx:
        status = await tx.execute(
            "UPDATE notifications SET read_at = now() WHERE org_id = $1 AND user_id = $2 AND read_at IS NULL",
            actor.org_id, actor.user_id)
        count = int(status.split()[-1])
        if count:
            await tx.emit("notification.read", user_id=actor.user_id, notification_id=None)
    return count
