"""A stored mail becomes a customer's message: parsed, threaded into its case, its attachments kept.

Runs as the "mail.parse" job. A mail that cannot be parsed, and an auto-reply or bounce with no
case to join, are set aside: kept raw, listed for editors, never dropped and never answered.
"""
from __future__ import annotations

import hashlib
import logging
import re

from app import blocking, case_tools, conversations, language
from app.actors import System
from app.conversations import MailOrigin
from app.db import Database, Tx
from app.mail import parse, parsers

log = logging.getLogger(__name__)

PARSE_TIMEOUT_SECONDS = 30
CASE_NUMBER = re.compile(r"\[#(\d{1,15})\]")

# The newest message any of the mail's referenced ids names: the case it answers.
BY_HEADER = """
SELECT conversation_id FROM messages
WHERE org_id = $1 AND mail_message_id = ANY($2::text[]) ORDER BY id DESC LIMIT 1
"""

# A case number in the subject counts only for someone who already wrote in that case, so a
# stranger quoting another customer's case number cannot post into it. A merged case's number
# leads to the case it was merged into (merges are one step: see case_tools.merge).
BY_CASE_NUMBER = """
SELECT v.id FROM conversations n
JOIN conversations v ON v.org_id = n.org_id AND v.id = COALESCE(n.merged_into_id, n.id)
WHERE n.org_id = $1 AND n.case_number = $2 AND v.kind = 'mail'
  AND EXISTS (SELECT 1 FROM messages m JOIN customers cu ON cu.org_id = m.org_id AND cu.id = m.customer_id
              WHERE m.org_id = v.org_id AND m.conversation_id = v.id AND cu.email = $3)
"""

PLACING_LOCK = 7_424_243  # pg_advisory_xact_lock(key, org_id): one placement at a time per organisation
# An earlier stored mail, still waiting for its own parse job, that this mail answers.
WAITING_ORIGINAL = """
SELECT 1 FROM raw_mails WHERE org_id = $1 AND id < $2 AND state = 'new' AND message_id = ANY($3::text[]) LIMIT 1
"""

SET_ASIDE = """
UPDATE raw_mails SET state = $3, problem = $4 WHERE org_id = $1 AND id = $2 AND state = 'new' RETURNING 1
"""


async def parse_job(db: Database, job) -> None:
    """The worker's handler for "mail.parse" jobs."""
    await receive(db, job.org_id, job.payload["raw_mail_id"])


async def receive(db: Database, org_id: int, raw_mail_id: int) -> int | None:
    """Turn a stored mail into a message; returns its conversation, None when set aside. Safe to run twice."""
    async with db.transaction(org_id, readonly=True) as tx:
        stored = await tx.fetchrow("SELECT channel_id, state, raw FROM raw_mails WHERE org_id = $1 AND id = $2",
                                   org_id, raw_mail_id)
    if stored is None or stored["state"] != "new":
        return None  # done by an earlier run of this job
    try:
        mail = await parsers.parse_within(stored["raw"], PARSE_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001 - whatever the parser chokes on is kept raw, not retried
        log.warning("mail set aside as unreadable", extra={"raw_mail_id": raw_mail_id, "error": repr(exc)})
        problem = "parsing took too long" if isinstance(exc, TimeoutError) else f"cannot be read as a mail: {exc}"
        await _set_aside(db, org_id, raw_mail_id, "unreadable", problem[:1000])
        return None
    detected = language.detect(mail.text)  # before the transaction: its lock is held while placing
    async with db.transaction(org_id) as tx:
        if await tx.fetchval("SELECT state FROM raw_mails WHERE org_id = $1 AND id = $2 FOR UPDATE",
                             org_id, raw_mail_id) != "new":
            return None
        return await _place(tx, raw_mail_id, stored["channel_id"], mail, detected)


async def _set_aside(db: Database, org_id: int, raw_mail_id: int, state: str, problem: str) -> None:
    async with db.transaction(org_id) as tx:
        if await tx.fetchval(SET_ASIDE, org_id, raw_mail_id, state, problem):
            await tx.emit("mail.set_aside", raw_mail_id=raw_mail_id, state=state)


async def find_conversation(tx: Tx, mail: parse.ParsedMail) -> tuple[int | None, str]:
    """The case a mail belongs to and why: by its headers, by a case number its sender may use, or none."""
    referenced = [*reversed(mail.references), *mail.in_reply_to]
    if mail.bounced_message_id:
        referenced.append(mail.bounced_message_id)
    if referenced and (found := await tx.fetchval(BY_HEADER, tx.org_id, referenced)):
        return found, "header"
    for number in CASE_NUMBER.findall(mail.subject):
        if mail.sender.address and (found := await tx.fetchval(BY_CASE_NUMBER, tx.org_id, int(number),
                                                                mail.sender.address)):
            return found, "case_number"
    return None, "new"


class EarlierMailFirst(RuntimeError):
    """The mail answers one that is stored but not placed yet: retried shortly, so it joins that case."""


async def _place(tx: Tx, raw_mail_id: int, channel_id: int, mail: parse.ParsedMail, detected: str) -> int | None:
    system = System(tx.org_id, "mail")
    # One organisation's mails are placed one at a time (milliseconds each), so two workers cannot
    # both open a new case for a mail and its reply.
    await tx.execute("SELECT pg_advisory_xact_lock($1, $2)", PLACING_LOCK, tx.org_id)
    if mail.sender.address and await blocking.is_blocked(tx, mail.sender.address):
        # kept raw and listed for editors, but no case and no notification
        if await tx.fetchval(SET_ASIDE, tx.org_id, raw_mail_id, "blocked", "a blocked sender"):
            await tx.emit("mail.set_aside", raw_mail_id=raw_mail_id, state="blocked")
        return None
    conversation_id, joined_by = await find_conversation(tx, mail)
    if conversation_id is not None:  # merged meanwhile: the mail goes where the case went
        conversation_id = await conversations.current_case(tx, conversation_id)
    if conversation_id is None and await tx.fetchval(WAITING_ORIGINAL, tx.org_id, raw_mail_id,
                                                     [*mail.references, *mail.in_reply_to]):
        raise EarlierMailFirst(f"raw mail {raw_mail_id} answers a mail that is not placed yet")
    automatic = mail.auto_submitted or mail.bounce
    if automatic and conversation_id is None:
        # an auto-reply to nothing we sent: answering it, or opening a case, could start a loop
        if await tx.fetchval(SET_ASIDE, tx.org_id, raw_mail_id, "ignored",
                             "a bounce" if mail.bounce else "an automatic reply"):
            await tx.emit("mail.set_aside", raw_mail_id=raw_mail_id, state="ignored")
        return None
    origin = MailOrigin(message_id=mail.message_id, raw_mail_id=raw_mail_id, joined_by=joined_by,
                        html=mail.html, auto_submitted=automatic)
    sender = {"customer_name": mail.sender.name, "customer_email": mail.sender.address or None,
              "language": detected}  # search stems by it; sentiment will score by it
    if conversation_id is None:
        conversation_id, message_id = await conversations.open_in(
            tx, system, channel_id=channel_id, subject=mail.subject, body=mail.text, mail=origin, **sender)
        await case_tools.auto_assign_in(tx, system, conversation_id, channel_id)
    else:
        message_id = await conversations.add_in(tx, system, conversation_id, kind="customer", body=mail.text,
                                                mail=origin, **sender)
        if not automatic:  # a customer writing again reopens a waiting or closed case
            await conversations.set_status_in(tx, system, conversation_id, "open")
    await store_attachments(tx, message_id, mail.attachments)
    await tx.execute("UPDATE raw_mails SET state = 'parsed', conversation_id = $3, problem = $4 "
                     "WHERE org_id = $1 AND id = $2", tx.org_id, raw_mail_id, conversation_id,
                     "; ".join(mail.problems)[:2000] or None)
    return conversation_id


async def store_attachments(tx: Tx, message_id: int, attachments) -> None:
    """Each file once per organisation by its sha256, named per message."""
    for a in attachments:
        digest = hashlib.sha256(a.data).digest()
        await tx.execute("INSERT INTO blobs (org_id, sha256, size, data) VALUES ($1, $2, $3, $4) "
                         "ON CONFLICT DO NOTHING", tx.org_id, digest, len(a.data), a.data)
        await tx.execute(
            """INSERT INTO attachments (org_id, message_id, sha256, filename, content_type, content_id, inline)
               VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            tx.org_id, message_id, digest, a.filename, a.content_type, a.content_id, a.inline)
