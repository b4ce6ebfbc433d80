"""The forum's editor workflow: the accepted answer, editors' comments, editing a thread (its earlier
versions kept), pinning and ordering the start page, and the chief editor's weekly review.

Archiving, hiding and spam are the conversation's own status and spam mark (conversations.set_status,
case_tools.mark_spam), the same for mail and forum; "no reply needed" is conversations.mark_no_reply_needed.
"""
from __future__ import annotations

from app import conversations, forum
from app.actors import AnyActor, Actor, require
from app.db import Database, Tx
from app.errors import Invalid, NotFound
from app.i18n import N_
from app.text import clean_name

REVIEW_DAYS = 7  # "last week's posts"
WAITING_HOURS = 24  # a post still needing a reply after a day is long unanswered
STALE_DAYS = 90  # untouched for about three months: worth archiving or bringing up to date
REVIEW_LIMIT = 100


async def _thread(tx: Tx, conversation_id: int):
    """The forum thread, locked; NotFound for a mail case or another organisation's id."""
    row = await tx.fetchrow(
        """SELECT id, kind, channel_id, subject, status, spam, pinned_position FROM conversations
           WHERE org_id = $1 AND id = $2 FOR UPDATE""", tx.org_id, conversation_id)
    if row is None or row["kind"] != "forum":
        raise NotFound()
    return row


# --- answers --------------------------------------------------------------------------------------------

# An answer: a top-level public message after the opening post (a visitor's or an editor's).
ANSWER = """
SELECT 1 FROM messages m WHERE m.org_id = $1 AND m.conversation_id = $2 AND m.id = $3
  AND m.parent_id IS NULL AND m.kind IN ('customer', 'editor')
  AND m.id <> (SELECT o.id FROM messages o WHERE o.org_id = $1 AND o.conversation_id = $2 AND o.kind <> 'note'
               ORDER BY o.created_at, o.id LIMIT 1)
"""


async def accept(db: Database, actor: AnyActor, conversation_id: int, message_id: int | None) -> bool:
    """Mark one answer as the accepted one, in place of any other (None: no accepted answer); whether it changed."""
    require(actor, "forum.edit")
    async with db.transaction(actor.org_id) as tx:
        await _thread(tx, conversation_id)
        if message_id is not None and not await tx.fetchval(ANSWER, tx.org_id, conversation_id, message_id):
            raise NotFound()
        current = await tx.fetchval(
            "SELECT id FROM messages WHERE org_id = $1 AND conversation_id = $2 AND accepted_at IS NOT NULL",
            tx.org_id, conversation_id)
        if current == message_id:
            return False
        # one accepted answer per thread (a unique index): the old one is cleared first
        await tx.execute("UPDATE messages SET accepted_at = NULL WHERE org_id = $1 AND id = $2", tx.org_id, current)
        await tx.execute("UPDATE messages SET accepted_at = now() WHERE org_id = $1 AND id = $2", tx.org_id,
                         message_id)
        await tx.emit("forum.accepted", conversation_id=conversation_id, message_id=message_id,
                      actor_id=actor.user_id)
    return True


async def comment(db: Database, actor: AnyActor, conversation_id: int, parent_id: int, body: str) -> int:
    """An editor's public comment on a post or answer (official, like their answers); returns its id."""
    require(actor, "forum.edit")
    body = conversations.clean_body(body)
    async with db.transaction(actor.org_id) as tx:
        await _thread(tx, conversation_id)
        return await conversations.add_in(tx, actor, conversation_id, kind="comment", body=body, parent_id=parent_id)


# --- editing --------------------------------------------------------------------------------------------

OPENING = """SELECT id, body_text FROM messages WHERE org_id = $1 AND conversation_id = $2 AND kind <> 'note'
             ORDER BY created_at, id LIMIT 1 FOR UPDATE"""


async def edit(db: Database, actor: AnyActor, conversation_id: int, subject: str, body: str) -> bool:
    """Change a thread's headline and its opening post's text, keeping what they said as a revision.

    Visitors see that the thread was edited; editors see each earlier version. Whether anything changed.
    """
    require(actor, "forum.edit")
    subject = clean_name(subject, "subject", forum.MAX_TITLE, message=N_("Write a headline."))
    body = conversations.clean_body(body)
    async with db.transaction(actor.org_id) as tx:
        thread = await _thread(tx, conversation_id)
        opening = await tx.fetchrow(OPENING, tx.org_id, conversation_id)
        if opening is None:
            raise NotFound()
        if (thread["subject"], opening["body_text"]) == (subject, body):
            return False
        revision_id = await tx.fetchval(
            """INSERT INTO forum_revisions (org_id, conversation_id, subject, body_text, editor_id)
               VALUES ($1, $2, $3, $4, $5) RETURNING id""",
            tx.org_id, conversation_id, thread["subject"], opening["body_text"], actor.user_id)
        await tx.execute("UPDATE conversations SET subject = $3, updated_at = now() WHERE org_id = $1 AND id = $2",
                         tx.org_id, conversation_id, subject)
        if opening["body_text"] != body:  # typed text in place of any formatted original
            await tx.execute("UPDATE messages SET body_text = $3, body_html = NULL WHERE org_id = $1 AND id = $2",
                             tx.org_id, opening["id"], body)
        await tx.emit("forum.edited", conversation_id=conversation_id, revision_id=revision_id,
                      actor_id=actor.user_id)
    return True


# --- pinning and the start page's order ---------------------------------------------------------------

PINNED_NEIGHBOUR = """
SELECT id, pinned_position FROM conversations
WHERE org_id = $1 AND channel_id = $2 AND pinned_position IS NOT NULL AND id <> $3
  AND status = 'open' AND NOT spam  -- among those the start page shows
  AND (CASE WHEN $5 THEN pinned_position < $4 ELSE pinned_position > $4 END)
ORDER BY CASE WHEN $5 THEN -pinned_position ELSE pinned_position END LIMIT 1
"""


async def _locked_channel(tx: Tx, thread) -> None:
    # pins of one forum change one at a time, so two never take the same place
    await tx.execute("SELECT 1 FROM channels WHERE org_id = $1 AND id = $2 FOR UPDATE", tx.org_id, thread["channel_id"])


async def pin(db: Database, actor: AnyActor, conversation_id: int, pinned: bool = True) -> bool:
    """Pin a thread to the top of its forum's start page (last among the pinned ones), or unpin it."""
    require(actor, "forum.edit")
    async with db.transaction(actor.org_id) as tx:
        thread = await _thread(tx, conversation_id)
        if pinned == (thread["pinned_position"] is not None):
            return False
        await _locked_channel(tx, thread)
        position = await tx.fetchval(
            """SELECT coalesce(max(pinned_position), 0) + 1 FROM conversations
               WHERE org_id = $1 AND channel_id = $2 AND pinned_position IS NOT NULL""",
            tx.org_id, thread["channel_id"]) if pinned else None
        await _set_position(tx, actor, thread, position)
    return True


async def move(db: Database, actor: AnyActor, conversation_id: int, up: bool) -> bool:
    """Move a pinned thread one place up (or down) among its forum's pinned threads; whether it moved."""
    require(actor, "forum.edit")
    async with db.transaction(actor.org_id) as tx:
        thread = await _thread(tx, conversation_id)
        if thread["pinned_position"] is None:
            raise Invalid(N_("Only pinned threads have a place to move."))
        await _locked_channel(tx, thread)
        neighbour = await tx.fetchrow(PINNED_NEIGHBOUR, tx.org_id, thread["channel_id"], conversation_id,
                                      thread["pinned_position"], up)
        if neighbour is None:
            return False
        await tx.execute("UPDATE conversations SET pinned_position = $3 WHERE org_id = $1 AND id = $2",
                         tx.org_id, neighbour["id"], thread["pinned_position"])
        await _set_position(tx, actor, thread, neighbour["pinned_position"])
    return True


async def _set_position(tx: Tx, actor: AnyActor, thread, position: int | None) -> None:
    await tx.execute("UPDATE conversations SET pinned_position = $3, updated_at = now() WHERE org_id = $1 AND id = $2",
                     tx.org_id, thread["id"], position)
    await tx.emit("forum.pinned", conversation_id=thread["id"], channel_id=thread["channel_id"],
                  pinned=position is not None, actor_id=actor.user_id)


# --- what the case page shows of it ----------------------------------------------------------------------

REVISIONS = """
SELECT r.id, r.subject, r.body_text, r.created_at, u.name AS editor_name
FROM forum_revisions r LEFT JOIN users u ON u.id = r.editor_id
WHERE r.org_id = $1 AND r.conversation_id = $2 ORDER BY r.created_at DESC, r.id DESC
"""


async def tools(db: Database, org_id: int, conversation_id: int) -> dict:
    """A forum thread's editing state for its case page: pinned or not, and its earlier versions."""
    async with db.transaction(org_id, readonly=True) as tx:
        pinned = await tx.fetchval("SELECT pinned_position FROM conversations WHERE org_id = $1 AND id = $2",
                                   org_id, conversation_id)
        revisions = await tx.fetch(REVISIONS, org_id, conversation_id)
    return {"conversation_id": conversation_id, "pinned": pinned is not None, "revisions": revisions}


# --- the chief editor's weekly review ---------------------------------------------------------------------

REVIEWED = f"""
SELECT v.id, v.case_number, v.subject, v.topic, v.status, v.created_at, v.last_message_at, v.needs_reply,
       v.pinned_position IS NOT NULL AS pinned,
       (SELECT count(*) FROM messages m WHERE m.org_id = v.org_id AND m.conversation_id = v.id
          AND m.kind <> 'note' AND m.parent_id IS NULL) - 1 AS answers,
       EXISTS (SELECT 1 FROM messages m WHERE m.org_id = v.org_id AND m.conversation_id = v.id
          AND m.accepted_at IS NOT NULL) AS accepted,
       {forum.ANSWERED} AS answered,
       v.needs_reply AND v.last_message_at < now() - make_interval(hours => {WAITING_HOURS}) AS waiting_long
FROM conversations v
WHERE v.org_id = $1 AND v.channel_id = $2 AND v.kind = 'forum' AND v.status = 'open' AND NOT v.spam
"""
# Last week's threads, the ones to look at first: long unanswered, then with no answer, then with none accepted.
WEEK = f"""
SELECT * FROM ({REVIEWED} AND v.last_message_at >= now() - make_interval(days => {REVIEW_DAYS})
               ORDER BY v.last_message_at DESC LIMIT $3) w
ORDER BY waiting_long DESC, answers > 0, accepted, last_message_at
"""
# Threads untouched for months, the oldest first.
STALE = f"""
{REVIEWED} AND v.last_message_at < now() - make_interval(days => {STALE_DAYS})
  AND v.updated_at < now() - make_interval(days => {STALE_DAYS})
ORDER BY v.last_message_at, v.id LIMIT $3
"""
FORUMS = "SELECT id, name, colour, address FROM channels WHERE org_id = $1 AND kind = 'forum' ORDER BY lower(name), id"


async def review(db: Database, actor: Actor, channel_id: int | None = None) -> dict:
    """One forum's weekly review (the first forum unless named): its start page, last week's threads with the
    unclear and long-unanswered first, and threads untouched for months."""
    require(actor, "forum.review")
    async with db.transaction(actor.org_id, readonly=True) as tx:
        forums = await tx.fetch(FORUMS, actor.org_id)
        chosen = next((f for f in forums if f["id"] == channel_id), forums[0] if forums else None)
        if chosen is None:
            return {"forums": [], "forum": None}
        week = await tx.fetch(WEEK, actor.org_id, chosen["id"], REVIEW_LIMIT)
        stale = await tx.fetch(STALE, actor.org_id, chosen["id"], REVIEW_LIMIT)
    return {"forums": forums, "forum": chosen, "start": await forum.listed(db, actor.org_id, chosen["id"]),
            "week": week, "stale": stale, "review_days": REVIEW_DAYS, "stale_days": STALE_DAYS}
