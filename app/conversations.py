"""Conversations: mail cases and forum threads in one table, with their messages."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from app import barometer, drafts, notifications, visitor_mail
from app.actors import AnyActor, require, require_message_kind
from app.db import Database, Tx
from app.mail import outgoing
from app.errors import Invalid, NotFound
from app.i18n import N_
from app.text import clean_address, clean_name

MESSAGE_KINDS = ("customer", "editor", "note", "comment")
STATUSES = {"mail": ("open", "waiting", "closed"), "forum": ("open", "archived", "hidden")}

# One row shape for the queue, the dashboard and every push that updates a row.
ROW = """
SELECT v.id, v.case_number, v.kind, v.subject, v.status, v.needs_reply, v.spam,
       v.created_at, v.last_message_at, v.assignee_id, v.channel_id, v.customer_id,
       v.merged_into_id, merged.case_number AS merged_into_number,
       v.split_from_id, v.split_reason, split.case_number AS split_from_number,
       ch.name AS channel_name, ch.colour AS channel_colour, ch.kind AS channel_kind,
       cu.name AS customer_name, cu.email AS customer_email, a.name AS assignee_name,
       coalesce(tg.tags, ARRAY[]::text[]) AS tags, coalesce(tg.tag_ids, ARRAY[]::bigint[]) AS tag_ids,
       v.follow_up_at, v.follow_up_due, v.sentiment, v.topic
FROM conversations v
JOIN channels ch ON ch.org_id = v.org_id AND ch.id = v.channel_id
LEFT JOIN customers cu ON cu.org_id = v.org_id AND cu.id = v.customer_id
LEFT JOIN users a ON a.id = v.assignee_id
LEFT JOIN conversations merged ON merged.org_id = v.org_id AND merged.id = v.merged_into_id
LEFT JOIN conversations split ON split.org_id = v.org_id AND split.id = v.split_from_id
-- the case's tags, names and ids in one pass
LEFT JOIN LATERAL (
    SELECT array_agg(t.name ORDER BY lower(t.name), t.id) AS tags, array_agg(t.id ORDER BY lower(t.name), t.id) AS tag_ids
    FROM conversation_tags ct JOIN tags t ON t.org_id = ct.org_id AND t.id = ct.tag_id
    WHERE ct.org_id = v.org_id AND ct.conversation_id = v.id
) tg ON true
WHERE v.org_id = $1 {where}
"""

QUEUE = ROW.format(where="AND v.status = 'open' AND NOT v.spam") + " ORDER BY v.created_at DESC, v.id DESC LIMIT $2"

NEXT_CASE_NUMBER = """
UPDATE organizations SET last_case_number = last_case_number + 1 WHERE id = $1 RETURNING last_case_number
"""

UPSERT_CUSTOMER = """
INSERT INTO customers (org_id, name, email) VALUES ($1, $2, $3)
ON CONFLICT (org_id, email) WHERE email IS NOT NULL
DO UPDATE SET name = CASE WHEN customers.name = '' THEN EXCLUDED.name ELSE customers.name END
RETURNING id
"""

# "Needs a reply": the latest public message is the customer's and not marked "no reply needed".
REFRESH_NEEDS_REPLY = """
UPDATE conversations v SET needs_reply = COALESCE((
    SELECT m.author_id IS NULL AND m.kind IN ('customer', 'comment') AND NOT m.no_reply_needed
    FROM messages m
    WHERE m.org_id = v.org_id AND m.conversation_id = v.id AND m.kind <> 'note'
    ORDER BY m.created_at DESC, m.id DESC LIMIT 1), false)
WHERE v.org_id = $1 AND v.id = $2
"""


async def queue(db: Database, org_id: int, limit: int = 500) -> list:
    """Open conversations of every channel, newest arrival first."""
    return await db.read(org_id, QUEUE, org_id, limit)


ONE_ROW = ROW.format(where="AND v.id = $2")


async def find_row(db: Database, org_id: int, conversation_id: int):
    """The conversation's queue row, or None."""
    rows = await db.read(org_id, ONE_ROW, org_id, conversation_id)
    return rows[0] if rows else None


async def get(db: Database, org_id: int, conversation_id: int):
    """A conversation with its messages, oldest first."""
    async with db.transaction(org_id, readonly=True) as tx:
        row = await tx.fetchrow(ONE_ROW, org_id, conversation_id)
        if row is None:
            raise NotFound()
        messages = await tx.fetch(MESSAGES, org_id, conversation_id)
    return row, messages


# A conversation's messages, oldest first, as its page shows them.
MESSAGES = """
SELECT m.id, m.kind, m.body_text, m.created_at, m.no_reply_needed, m.language, m.joined_by,
       m.raw_mail_id, m.auto_submitted, m.author_id, m.delivery_state, m.delivery_error,
       m.body_html IS NOT NULL AS has_html, u.name AS author_name, cu.name AS customer_name,
       m.cc, m.bcc, m.visitor, m.parent_id, m.accepted_at,
       m.sentiment, m.sentiment_correction, corrector.name AS sentiment_corrected_by_name  -- the barometer
FROM messages m
LEFT JOIN users u ON u.id = m.author_id
LEFT JOIN users corrector ON corrector.id = m.sentiment_corrected_by
LEFT JOIN customers cu ON cu.org_id = m.org_id AND cu.id = m.customer_id
WHERE m.org_id = $1 AND m.conversation_id = $2 ORDER BY m.created_at, m.id
"""


@dataclass(frozen=True)
class MailOrigin:
    """What a message that came by mail carries besides its text."""

    message_id: str | None = None  # its Message-ID header, which replies name in In-Reply-To
    raw_mail_id: int | None = None  # the stored original
    joined_by: str = "new"  # how it found its conversation: "header", "case_number" or "new"
    html: str | None = None  # sanitised
    auto_submitted: bool = False  # an auto-reply or bounce: never asks for a reply


async def _insert_message(tx: Tx, conversation_id: int, kind: str, body: str, *, author_id: int | None,
                          customer_id: int | None, at: datetime | None, language: str | None,
                          mail: MailOrigin | None, visitor: dict | None = None, parent_id: int | None = None) -> int:
    mail = mail or MailOrigin(joined_by=None)
    message_id = await tx.fetchval(
        """INSERT INTO messages (org_id, conversation_id, kind, author_id, customer_id, body_text, body_html,
                                 language, no_reply_needed, created_at, mail_message_id, raw_mail_id, joined_by,
                                 auto_submitted, visitor, parent_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, COALESCE($10, now()), $11, $12, $13, $9, $14, $15)
           RETURNING id""",
        tx.org_id, conversation_id, kind, author_id, customer_id, body, mail.html, language, mail.auto_submitted,
        at, mail.message_id, mail.raw_mail_id, mail.joined_by, visitor, parent_id,
    )
    public_editor_message = author_id is not None and kind in ("editor", "comment")
    await tx.execute(
        """UPDATE conversations SET
               last_message_at = GREATEST(last_message_at, COALESCE($3, now())),
               updated_at = now(),
               first_response_at = CASE WHEN $4 AND first_response_at IS NULL
                                        THEN COALESCE($3, now()) ELSE first_response_at END
           WHERE org_id = $1 AND id = $2""",
        tx.org_id, conversation_id, at, public_editor_message,
    )
    await tx.execute(REFRESH_NEEDS_REPLY, tx.org_id, conversation_id)
    await tx.emit("message.added", conversation_id=conversation_id, message_id=message_id, message_kind=kind)
    if public_editor_message:  # the forum (issue 8): visitors who follow the thread are mailed the answer
        await visitor_mail.answered_in(tx, conversation_id, message_id)
    if author_id is None and kind in ("customer", "comment"):  # the barometer (issue 10): a customer's words
        await barometer.queue_score_in(tx, message_id)
    return message_id


async def _customer(tx: Tx, name: str, email: str | None) -> int:
    return await tx.fetchval(UPSERT_CUSTOMER, tx.org_id, (name or "").strip()[:200],
                             email.strip().lower()[:254] if email else None)


async def visitor_customer_in(tx: Tx, name: str) -> int:
    """A forum visitor's own customer row, by name only: their e-mail is unverified, so it must not join
    them to the mail customer with that address (it stays on their message, for editors)."""
    return await _customer(tx, name, None)


async def open_in(tx: Tx, actor: AnyActor, *, channel_id: int, subject: str, body: str, customer_name: str = "",
                  customer_email: str | None = None, at: datetime | None = None, visitor: dict | None = None,
                  language: str | None = None, mail: MailOrigin | None = None) -> tuple[int, int]:
    """`open_conversation` inside the caller's transaction; returns (conversation id, message id)."""
    require(actor, "conversation.open")
    channel_kind = await tx.fetchval(
        "SELECT kind FROM channels WHERE org_id = $1 AND id = $2", tx.org_id, channel_id
    )
    if channel_kind is None:
        raise NotFound()
    kind = "mail" if channel_kind == "mailbox" else "forum"
    require_message_kind(actor, "customer", kind)
    customer_id = await _customer(tx, customer_name, customer_email)
    conversation_id = await new_case_in(tx, channel_id=channel_id, kind=kind, customer_id=customer_id,
                                        subject=subject, at=at, visitor=visitor)
    message_id = await _insert_message(tx, conversation_id, "customer", body, author_id=None,
                                       customer_id=customer_id, at=at, language=language, mail=mail, visitor=visitor)
    return conversation_id, message_id


async def new_case_in(tx: Tx, *, channel_id: int, kind: str, customer_id: int | None, subject: str,
                      at: datetime | None = None, visitor: dict | None = None, split_from_id: int | None = None,
                      split_reason: str | None = None) -> int:
    """A conversation row with the organisation's next case number (its messages come after)."""
    case_number = await tx.fetchval(NEXT_CASE_NUMBER, tx.org_id)
    conversation_id = await tx.fetchval(
        """INSERT INTO conversations (org_id, case_number, channel_id, kind, customer_id, subject,
                                      visitor, created_at, last_message_at, split_from_id, split_reason)
           VALUES ($1, $2, $3, $4, $5, $6, $7, COALESCE($8, now()), COALESCE($8, now()), $9, $10) RETURNING id""",
        tx.org_id, case_number, channel_id, kind, customer_id, subject.strip(), visitor, at, split_from_id,
        split_reason,
    )
    await tx.emit("conversation.created", conversation_id=conversation_id, channel_id=channel_id)
    return conversation_id


async def current_case(tx: Tx, conversation_id: int) -> int:
    """The conversation, locked; or, when it was merged, the case it was merged into (locked too)."""
    merged_into = await tx.fetchrow(
        "SELECT merged_into_id FROM conversations WHERE org_id = $1 AND id = $2 FOR UPDATE", tx.org_id, conversation_id)
    if merged_into is None:
        raise NotFound()
    if merged_into["merged_into_id"] is None:
        return conversation_id
    return await current_case(tx, merged_into["merged_into_id"])


async def open_conversation(db: Database, actor: AnyActor, **fields) -> int:
    """A new mail case or forum thread from a customer's first message, with the next case number.

    Mail arrives through the system (the ingress), forum posts from visitors; each only in its own kind of channel.
    """
    async with db.transaction(actor.org_id) as tx:
        conversation_id, _ = await open_in(tx, actor, **fields)
    return conversation_id


async def add_in(tx: Tx, actor: AnyActor, conversation_id: int, *, kind: str, body: str,
                 at: datetime | None = None, language: str | None = None, customer_name: str | None = None,
                 customer_email: str | None = None, mail: MailOrigin | None = None, customer_id: int | None = None,
                 visitor: dict | None = None, parent_id: int | None = None) -> int:
    """`add_message` inside the caller's transaction.

    A customer's message is the conversation's customer's unless another sender is named (someone in Cc),
    or the caller gives its author's own customer row (a forum visitor is never the thread's starter by default).
    A comment names the message it comments on (parent_id, in the same conversation).
    """
    if kind not in MESSAGE_KINDS:
        raise Invalid(N_("Unknown message kind."))
    conversation_id = await current_case(tx, conversation_id)  # a merged case's messages go where it went
    row = await tx.fetchrow(
        "SELECT kind, customer_id FROM conversations WHERE org_id = $1 AND id = $2 FOR UPDATE",
        tx.org_id, conversation_id)
    if row is None:
        raise NotFound()
    require_message_kind(actor, kind, row["kind"])
    if actor.user_id is not None:
        customer_id = None
    elif customer_id is None:
        customer_id = (await _customer(tx, customer_name or "", customer_email) if customer_email
                       else row["customer_id"])
    if parent_id is not None and not await tx.fetchval(
            """SELECT 1 FROM messages WHERE org_id = $1 AND conversation_id = $2 AND id = $3 AND kind <> 'note'
               AND parent_id IS NULL""",  # comments go on posts and answers, one level deep
            tx.org_id, conversation_id, parent_id):
        raise NotFound()
    return await _insert_message(tx, conversation_id, kind, body, author_id=actor.user_id, customer_id=customer_id,
                                 at=at, language=language, mail=mail, visitor=visitor, parent_id=parent_id)


async def add_message(db: Database, actor: AnyActor, conversation_id: int, **fields) -> int:
    """Append a message: a reply, note or comment by a member, or the customer's next message.

    A customer's message (from the system or a visitor) counts towards "needs a reply".
    """
    async with db.transaction(actor.org_id) as tx:
        return await add_in(tx, actor, conversation_id, **fields)


class NewerMessages(Exception):
    """Someone wrote in the conversation after the newest message the replying editor had seen."""

    def __init__(self, messages: list):
        super().__init__(f"{len(messages)} newer message(s)")
        self.messages = messages


# Public messages (not notes) after the one the writer saw, other than the writer's own.
NEWER_THAN_SEEN = """
SELECT m.id, m.kind, m.created_at, coalesce(u.name, cu.name, '') AS author_name
FROM messages m
LEFT JOIN users u ON u.id = m.author_id
LEFT JOIN customers cu ON cu.org_id = m.org_id AND cu.id = m.customer_id
WHERE m.org_id = $1 AND m.conversation_id = $2 AND m.id > $3 AND m.kind <> 'note'
  AND m.author_id IS DISTINCT FROM $4
ORDER BY m.id
"""

MAX_BODY = 100_000


async def reply(db: Database, actor: AnyActor, conversation_id: int, body: str, *, seen_message_id: int,
                send_anyway: bool = False, cc: str = "", bcc: str = "") -> int:
    """An editor's public answer: a mail to the customer (queued to send), or an answer in the forum.

    Held (NewerMessages) when the customer or another editor wrote after the newest message the
    writer had seen, unless they chose to send anyway: no two answers cross unseen.
    A mail goes with the mailbox's signature, the Cc and Bcc given (addresses separated by commas,
    semicolons or spaces) and the files of the writer's draft, which it empties.
    """
    body, copies, blind = _clean_body(body), addresses(cc, "cc"), addresses(bcc, "bcc")
    async with db.transaction(actor.org_id) as tx:
        kind = await _locked_kind(tx, conversation_id)
        if kind != "mail" and (copies or blind):
            raise Invalid(N_("Cc and Bcc go with mail only."), "cc")
        newer = await tx.fetch(NEWER_THAN_SEEN, actor.org_id, conversation_id, seen_message_id, actor.user_id)
        if newer and not send_anyway:
            raise NewerMessages(newer)
        if kind == "mail":
            body = signed(body, await tx.fetchval(
                """SELECT ch.signature FROM conversations v JOIN channels ch ON ch.org_id = v.org_id
                   AND ch.id = v.channel_id WHERE v.org_id = $1 AND v.id = $2""", actor.org_id, conversation_id))
        message_id = await add_in(tx, actor, conversation_id, kind="editor", body=body)
        await drafts.send_in(tx, actor, conversation_id, message_id)
        if kind == "mail":
            await outgoing.queue_send(tx, message_id, cc=copies, bcc=blind)  # goes out once this transaction commits
    return message_id


async def add_note(db: Database, actor: AnyActor, conversation_id: int, body: str) -> int:
    """An internal note: seen by the team, never sent."""
    return await add_message(db, actor, conversation_id, kind="note", body=_clean_body(body))


def _clean_body(body: str, field: str = "body") -> str:
    body = (body or "").replace("\r\n", "\n").strip()
    if not body:
        raise Invalid(N_("Write something first."), field)
    if len(body) > MAX_BODY:
        raise Invalid(N_("That is too long: at most %(max)s characters."), field, max=MAX_BODY)
    return body


clean_body = _clean_body  # the forum's moves and editing (issue 8) check their texts the same way


async def _locked_kind(tx: Tx, conversation_id: int) -> str:
    kind = await tx.fetchval(
        "SELECT kind FROM conversations WHERE org_id = $1 AND id = $2 FOR UPDATE", tx.org_id, conversation_id)
    if kind is None:
        raise NotFound()
    return kind


async def set_status_in(tx: Tx, actor: AnyActor, conversation_id: int, status: str,
                        at: datetime | None = None) -> bool:
    """`set_status` inside the caller's transaction; whether the status changed."""
    require(actor, "conversation.set_status")
    if status not in STATUSES[await _locked_kind(tx, conversation_id)]:
        raise Invalid(N_("That status does not exist for this conversation."), "status")
    changed = await tx.fetchval(
        """UPDATE conversations SET status = $3, updated_at = now()
           WHERE org_id = $1 AND id = $2 AND status <> $3 RETURNING 1""",
        tx.org_id, conversation_id, status,
    )
    if changed:
        await tx.emit("conversation.status_changed", at=at, conversation_id=conversation_id, status=status,
                      actor_id=actor.user_id)
        # A case reopened (the customer wrote again) in the hands of someone who has left the team
        # would fall between chairs: it goes back to no one, so the unassigned view shows it.
        if status == "open" and await tx.fetchval(
                """SELECT 1 FROM conversations v JOIN memberships ms ON ms.org_id = v.org_id AND ms.user_id = v.assignee_id
                   WHERE v.org_id = $1 AND v.id = $2 AND ms.ended_at IS NOT NULL""", tx.org_id, conversation_id):
            await set_assignee_in(tx, actor, conversation_id, None)
    return bool(changed)


async def set_status(db: Database, actor: AnyActor, conversation_id: int, status: str,
                     at: datetime | None = None) -> None:
    async with db.transaction(actor.org_id) as tx:
        await set_status_in(tx, actor, conversation_id, status, at)


async def assign(db: Database, actor: AnyActor, conversation_id: int, assignee_id: int | None) -> None:
    async with db.transaction(actor.org_id) as tx:
        await assign_in(tx, actor, conversation_id, assignee_id)


async def assign_in(tx: Tx, actor: AnyActor, conversation_id: int, assignee_id: int | None) -> bool:
    """`assign` inside the caller's transaction; whether the assignee changed."""
    require(actor, "conversation.assign")
    await _locked_kind(tx, conversation_id)
    if assignee_id is not None and not await tx.fetchval(
        "SELECT 1 FROM memberships WHERE org_id = $1 AND user_id = $2 AND role <> 'viewer' AND ended_at IS NULL",
        actor.org_id, assignee_id,
    ):
        raise Invalid(N_("Only editors of this organisation can be assigned."), "assignee")
    return await set_assignee_in(tx, actor, conversation_id, assignee_id)


async def set_assignee_in(tx: Tx, actor: AnyActor, conversation_id: int, assignee_id: int | None) -> bool:
    """Assign inside the caller's transaction (the assignee already checked); the event only on a change.

    The assignee is told in their notifications, unless they assigned themselves.
    """
    changed = await tx.fetchrow(  # the old assignee too: their "mine" count changes (the dashboard, issue 9)
        """UPDATE conversations v SET assignee_id = $3, updated_at = now() FROM conversations old
           WHERE v.org_id = $1 AND v.id = $2 AND v.assignee_id IS DISTINCT FROM $3
             AND old.org_id = v.org_id AND old.id = v.id
           RETURNING old.assignee_id""",
        tx.org_id, conversation_id, assignee_id,
    )
    if changed:
        await tx.emit("conversation.assigned", conversation_id=conversation_id, assignee_id=assignee_id,
                      actor_id=actor.user_id, previous_assignee_id=changed["assignee_id"])
        if assignee_id is not None and assignee_id != actor.user_id:
            await notifications.notify_in(tx, [assignee_id], "assigned", conversation_id, actor.user_id)
    return bool(changed)


async def mark_no_reply_needed(db: Database, actor: AnyActor, conversation_id: int) -> None:
    """Mark the latest customer message "no reply needed"; a newer customer message clears it."""
    require(actor, "conversation.no_reply_needed")
    async with db.transaction(actor.org_id) as tx:
        await _locked_kind(tx, conversation_id)
        message_id = await tx.fetchval(
            """SELECT id FROM messages WHERE org_id = $1 AND conversation_id = $2 AND author_id IS NULL
                 AND kind IN ('customer', 'comment') ORDER BY created_at DESC, id DESC LIMIT 1""",
            actor.org_id, conversation_id,
        )
        if message_id is None:
            raise NotFound()
        await tx.execute("UPDATE messages SET no_reply_needed = true WHERE org_id = $1 AND id = $2",
                         actor.org_id, message_id)
        await tx.execute(REFRESH_NEEDS_REPLY, actor.org_id, conversation_id)
        await tx.emit("conversation.no_reply_needed", conversation_id=conversation_id, message_id=message_id,
                      actor_id=actor.user_id)


# --- the reply composer: signatures, Cc and Bcc, new mails, sending again (issue 7) -----------------

MAX_RECIPIENTS = 50
_ADDRESS_SEPARATORS = re.compile(r"[,;\s]+")


def addresses(text: str | None, field: str) -> list[str]:
    """Addresses typed into To, Cc or Bcc (separated by commas, semicolons or spaces), each one we can mail."""
    found: list[str] = []
    for typed in _ADDRESS_SEPARATORS.split(text or ""):
        if not typed:
            continue
        try:
            address = clean_address(typed)
            outgoing.address(None, address)
        except (Invalid, outgoing.Unsendable):
            raise Invalid(N_("%(address)s is not an e-mail address we can send to."), field,
                          address=typed[:100]) from None
        if address not in found:
            found.append(address)
    if len(found) > MAX_RECIPIENTS:
        raise Invalid(N_("That is too many addresses: at most %(max)s."), field, max=MAX_RECIPIENTS)
    return found


def signed(body: str, signature: str | None) -> str:
    """The text with the mailbox's signature below the usual "-- " line, when it has one."""
    return f"{body}\n\n-- \n{signature}" if signature else body


async def start_mail(db: Database, actor: AnyActor, *, channel_id: int | str, to: str, subject: str, body: str,
                     cc: str = "", bcc: str = "") -> int:
    """A new mail from us to a customer: it opens a mail case, queued to send, that their answer threads into.

    Takes the writer's new-mail draft's files along and empties it; returns the new conversation.
    """
    require(actor, "conversation.start")
    recipients = addresses(to, "to")
    if len(recipients) != 1:
        raise Invalid(N_("Enter the customer's e-mail address (one)."), "to")
    subject = clean_name(subject, "subject", outgoing.MAX_SUBJECT, message=N_("Write a subject."))
    body, copies, blind = _clean_body(body), addresses(cc, "cc"), addresses(bcc, "bcc")
    try:
        channel_id = int(channel_id)
    except (TypeError, ValueError):
        raise Invalid(N_("Choose a mailbox."), "channel_id") from None
    async with db.transaction(actor.org_id) as tx:
        signature = await tx.fetchval("SELECT signature FROM channels WHERE org_id = $1 AND id = $2 AND kind = 'mailbox'",
                                      tx.org_id, channel_id) if 0 < channel_id < 2**63 else None
        if signature is None:
            raise NotFound()  # no such mailbox here (another organisation's, or gone)
        require_message_kind(actor, "editor", "mail")
        conversation_id = await new_case_in(tx, channel_id=channel_id, kind="mail",
                                            customer_id=await _customer(tx, "", recipients[0]), subject=subject)
        message_id = await _insert_message(tx, conversation_id, "editor", signed(body, signature),
                                           author_id=actor.user_id, customer_id=None, at=None, language=None,
                                           mail=None)
        await drafts.send_in(tx, actor, None, message_id)
        await outgoing.queue_send(tx, message_id, cc=copies, bcc=blind)
    return conversation_id


async def resend(db: Database, actor: AnyActor, conversation_id: int, message_id: int) -> None:
    """Send a reply that could not be sent once more (a new send job, the same Message-ID).

    One on its way already is left to go; one that was sent is refused: the customer has it.
    """
    require(actor, "message.resend")
    async with db.transaction(actor.org_id) as tx:
        conversation_id = await current_case(tx, conversation_id)  # from a page of a case merged since
        state = await tx.fetchval(
            """SELECT delivery_state FROM messages WHERE org_id = $1 AND conversation_id = $2 AND id = $3
               AND delivery_state IS NOT NULL FOR UPDATE""", tx.org_id, conversation_id, message_id)
        if state is None:
            raise NotFound()
        if state == "sent":
            raise Invalid(N_("That reply was sent already."))
        await outgoing.queue_send(tx, message_id)
