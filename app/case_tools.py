"""Tools for working cases: mark spam, split a customer's mail out, merge two cases, assign new mail automatically."""
from __future__ import annotations

import re

from app import conversations
from app.actors import AnyActor, System, require
from app.conversations import REFRESH_NEEDS_REPLY
from app.db import Database, Tx
from app.errors import Invalid, NotFound
from app.i18n import N_

MAX_REASON = 500  # the column's CHECK says the same


async def mark_spam(db: Database, actor: AnyActor, conversation_id: int, spam: bool = True) -> None:
    """Mark a case as spam (or not): kept, out of the queues, counted apart by statistics."""
    require(actor, "conversation.spam")
    async with db.transaction(actor.org_id) as tx:
        if await tx.fetchval("SELECT 1 FROM conversations WHERE org_id = $1 AND id = $2 FOR UPDATE",
                             actor.org_id, conversation_id) is None:
            raise NotFound()
        if await tx.fetchval("""UPDATE conversations SET spam = $3, updated_at = now()
                                WHERE org_id = $1 AND id = $2 AND spam <> $3 RETURNING 1""",
                             actor.org_id, conversation_id, spam):
            await tx.emit("conversation.spam_marked", conversation_id=conversation_id, spam=spam,
                          actor_id=actor.user_id)


# A case's newest message time, after messages left it.
REFRESH_LAST_MESSAGE = """
UPDATE conversations v SET updated_at = now(), last_message_at = COALESCE(
    (SELECT max(m.created_at) FROM messages m WHERE m.org_id = v.org_id AND m.conversation_id = v.id), v.created_at)
WHERE v.org_id = $1 AND v.id = $2
"""


async def _refresh(tx: Tx, *conversation_ids: int) -> None:
    for conversation_id in conversation_ids:
        await tx.execute(REFRESH_LAST_MESSAGE, tx.org_id, conversation_id)
        await tx.execute(REFRESH_NEEDS_REPLY, tx.org_id, conversation_id)


async def split(db: Database, actor: AnyActor, conversation_id: int, message_id: int, reason: str) -> int:
    """Move one customer mail out of a case into a new case of the same customer; returns the new case."""
    require(actor, "conversation.split")
    reason = " ".join((reason or "").split())
    if not reason:
        raise Invalid(N_("Say why the mail is split out."), "reason")
    if len(reason) > MAX_REASON:
        raise Invalid(N_("That is too long: at most %(max)s characters."), "reason", max=MAX_REASON)
    async with db.transaction(actor.org_id) as tx:
        source = await tx.fetchrow(
            """SELECT id, kind, channel_id, customer_id, subject, merged_into_id FROM conversations
               WHERE org_id = $1 AND id = $2 FOR UPDATE""", actor.org_id, conversation_id)
        if source is None:
            raise NotFound()
        message = await tx.fetchrow(
            """SELECT m.kind, m.customer_id, m.raw_mail_id, m.conversation_id, v.split_from_id FROM messages m
               JOIN conversations v ON v.org_id = m.org_id AND v.id = m.conversation_id
               WHERE m.org_id = $1 AND m.id = $2""", actor.org_id, message_id)
        if message is not None and message["split_from_id"] == conversation_id:
            return message["conversation_id"]  # split out already (a second click): that case
        if message is not None and message["conversation_id"] != conversation_id:
            message = None
        if message is None or message["kind"] != "customer" or source["kind"] != "mail":
            raise Invalid(N_("Only a customer's mail in this case can be split out."), "message_id")
        first = await tx.fetchval("""SELECT id FROM messages WHERE org_id = $1 AND conversation_id = $2
                                     ORDER BY created_at, id LIMIT 1""", actor.org_id, conversation_id)
        if first == message_id:
            raise Invalid(N_("The mail that started the case stays in it: split out a later one."), "message_id")
        new_id = await conversations.new_case_in(
            tx, channel_id=source["channel_id"], kind="mail", customer_id=message["customer_id"] or source["customer_id"],
            subject=source["subject"], split_from_id=conversation_id, split_reason=reason)
        # the mail's Message-ID moves with it, so answers to that mail thread into the new case
        await tx.execute("UPDATE messages SET conversation_id = $3 WHERE org_id = $1 AND id = $2",
                         actor.org_id, message_id, new_id)
        if message["raw_mail_id"]:
            await tx.execute("UPDATE raw_mails SET conversation_id = $3 WHERE org_id = $1 AND id = $2",
                             actor.org_id, message["raw_mail_id"], new_id)
        await _refresh(tx, conversation_id, new_id)
        await tx.emit("conversation.split", conversation_id=conversation_id, new_conversation_id=new_id,
                      message_id=message_id, actor_id=actor.user_id)
    return new_id


CASE_NUMBER = re.compile(r"#?\s*(\d{1,15})")


async def merge(db: Database, actor: AnyActor, conversation_id: int, into: str) -> int:
    """Merge a case into another of the organisation (by its case number); returns the case merged into.

    Its messages, mails and tags move; it is closed and points there, so its case number and the
    mails it held thread into the target from now on.
    """
    require(actor, "conversation.merge")
    number = CASE_NUMBER.fullmatch((into or "").strip())
    if number is None:
        raise Invalid(N_("Enter the number of the case to merge into, like #1234."), "into")
    async with db.transaction(actor.org_id) as tx:
        target_id = await tx.fetchval("SELECT id FROM conversations WHERE org_id = $1 AND case_number = $2",
                                      actor.org_id, int(number.group(1)))
        if target_id is None:
            raise Invalid(N_("No case has the number #%(number)s."), "into", number=number.group(1))
        if target_id == conversation_id:
            raise Invalid(N_("A case cannot be merged into itself."), "into")
        # both locked in id order, so two merges of the same pair cannot deadlock
        rows = {r["id"]: r for r in await tx.fetch(
            """SELECT id, kind, merged_into_id FROM conversations WHERE org_id = $1 AND id = ANY($2::bigint[])
               ORDER BY id FOR UPDATE""", actor.org_id, [conversation_id, target_id])}
        source, target = rows.get(conversation_id), rows[target_id]
        if source is None:
            raise NotFound()
        if source["merged_into_id"] == target_id:
            return target_id  # merged already (a second click)
        if source["merged_into_id"] is not None:
            raise Invalid(N_("This case is already merged into another."), "into")
        if target["merged_into_id"] is not None:
            raise Invalid(N_("That case was merged into another one: merge into that one."), "into")
        if source["kind"] != "mail" or target["kind"] != "mail":
            raise Invalid(N_("Only mail cases can be merged."), "into")
        moves = (actor.org_id, conversation_id, target_id)
        await tx.execute("UPDATE messages SET conversation_id = $3 WHERE org_id = $1 AND conversation_id = $2", *moves)
        await tx.execute("UPDATE raw_mails SET conversation_id = $3 WHERE org_id = $1 AND conversation_id = $2", *moves)
        await tx.execute("""INSERT INTO conversation_tags (org_id, conversation_id, tag_id)
                            SELECT org_id, $3, tag_id FROM conversation_tags WHERE org_id = $1 AND conversation_id = $2
                            ON CONFLICT DO NOTHING""", *moves)
        # cases merged into this one earlier now point at the target too: a merge is always one step
        await tx.execute("UPDATE conversations SET merged_into_id = $3 WHERE org_id = $1 AND merged_into_id = $2",
                         *moves)
        await tx.execute("""UPDATE conversations SET merged_into_id = $3, status = 'closed', updated_at = now()
                            WHERE org_id = $1 AND id = $2""", *moves)
        await tx.execute("""UPDATE conversations t SET first_response_at = LEAST(t.first_response_at, s.first_response_at)
                            FROM conversations s WHERE t.org_id = $1 AND t.id = $3 AND s.org_id = $1 AND s.id = $2""",
                         *moves)
        await _refresh(tx, conversation_id, target_id)
        await tx.emit("conversation.merged", conversation_id=target_id, merged_id=conversation_id,
                      actor_id=actor.user_id)
    return target_id


# Who may take a new case: current editors and admins who are not away, with their open cases, in a stable order.
CANDIDATES = """
SELECT m.user_id,
       (SELECT count(*) FROM conversations v WHERE v.org_id = m.org_id AND v.assignee_id = m.user_id
          AND v.status = 'open' AND NOT v.spam) AS open_cases
FROM memberships m WHERE m.org_id = $1 AND m.role IN ('admin', 'editor') AND NOT m.away AND m.ended_at IS NULL
ORDER BY m.user_id
"""


async def auto_assign_in(tx: Tx, actor: System, conversation_id: int, channel_id: int) -> int | None:
    """Assign a new case by its mailbox's rule (round robin or least loaded); None when off or no one is here."""
    require(actor, "conversation.auto_assign")
    # The channel's row is locked, so two cases arriving at once are assigned one after the other;
    # NO KEY UPDATE, so the ingress storing the next mail for this mailbox (a foreign key to it) does not wait.
    channel = await tx.fetchrow("SELECT auto_assign, last_assigned_id FROM channels WHERE org_id = $1 AND id = $2 "
                                "FOR NO KEY UPDATE", tx.org_id, channel_id)
    if channel is None or channel["auto_assign"] == "off":
        return None
    candidates = await tx.fetch(CANDIDATES, tx.org_id)
    if not candidates:
        return None
    if channel["auto_assign"] == "round_robin":
        after = [c for c in candidates if c["user_id"] > (channel["last_assigned_id"] or 0)]
        chosen = (after or candidates)[0]["user_id"]
    else:
        chosen = min(candidates, key=lambda c: (c["open_cases"], c["user_id"]))["user_id"]
    await tx.execute("UPDATE channels SET last_assigned_id = $3 WHERE org_id = $1 AND id = $2",
                     tx.org_id, channel_id, chosen)
    await conversations.set_assignee_in(tx, actor, conversation_id, chosen)
    return chosen
