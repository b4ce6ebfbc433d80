"""Mail out: an editor's reply in a mail case goes to the customer through the relay, as the "mail.send" job.

`queue_send` runs in the transaction that wrote the reply: it gives the reply its Message-ID there
(so the customer's answer threads back even before the mail left, and every attempt sends the same
id) and queues the job. `send_job` composes the mail from validated fields, never from copied
headers, sends it, and records on the message how that went: queued → sent, or retrying (the relay
is down or answered 4xx; the job backs off) → sent or failed (5xx, or the last attempt failed too).

Once "sent" is recorded the job does nothing more, so a job run twice mails the customer once. What
remains: a worker that dies (or loses PostgreSQL) after the relay accepted the mail and before
"sent" is committed leaves the job to run again, and the customer gets the mail twice, with the
same Message-ID, which most mail clients show once.
"""
from __future__ import annotations

import asyncio
import email
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import policy as email_policy
from email.headerregistry import Address, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib

from app import jobs
from app.config import Settings
from app.db import Database, Tx
from app.errors import NotFound

SEND = "mail.send"
# Back-off 5 s doubling to an hour, halved at most by jitter: the last of 15 attempts comes after
# roughly 1.5 to 3 hours, long enough for a relay to be restarted, short enough for an editor to act.
SEND_ATTEMPTS = 15
SMTP_TIMEOUT_SECONDS = 30  # each SMTP command
SEND_TIMEOUT_SECONDS = 60  # the whole conversation with the relay; the worker's timeout is longer
MAX_REFERENCES = 20
MAX_SUBJECT = 200
MAX_NAME = 200
MAX_ERROR = 2000
PENDING = ("queued", "retrying")


class Unsendable(ValueError):
    """This reply cannot become a mail (no usable address, say); trying again would not help."""


@dataclass(frozen=True)
class Attachment:
    """A file sent with a reply: its name as we keep it (app/drafts.py safe_filename), type and bytes."""

    filename: str
    content_type: str
    data: bytes


# --- the relay -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Relay:
    host: str
    port: int
    username: str = ""
    password: str = field(default="", repr=False)
    starttls: bool | None = None  # None: when the relay offers it


_default_relay: Relay | None = None


def configure(settings: Settings) -> None:
    """Set the default relay from the settings; the worker calls it at start, tests with their own."""
    global _default_relay
    _default_relay = Relay(settings.smtp_relay_host, settings.smtp_relay_port, settings.smtp_relay_username,
                           settings.smtp_relay_password, settings.smtp_relay_starttls)


def relay_for(relay_host: str | None, relay_port: int | None) -> Relay:
    """A mailbox's relay: its own host and port where set, else the default's."""
    if _default_relay is None:
        raise RuntimeError("outgoing.configure(settings) was not called: no relay to send through")
    if relay_host is None:
        return Relay(_default_relay.host, relay_port or _default_relay.port, _default_relay.username,
                     _default_relay.password, _default_relay.starttls)
    # a mailbox's own host never gets the credentials meant for ours
    return Relay(relay_host, relay_port or _default_relay.port)


# --- composing: validated fields in, one mail with exactly its intended headers out ---------------

class _MessageIdsHeader:
    """In-Reply-To and References: msg-ids (checked by _msg_id), folded between ids, never encoded.

    The stdlib treats both as free text and turns a long id into encoded words, which no one can thread by.
    """

    max_count = 1

    @classmethod
    def parse(cls, value, kwds):
        kwds["decoded"] = " ".join(str(value).split())
        kwds["parse_tree"] = None

    def fold(self, *, policy):
        lines, line = [], f"{self.name}:"
        for token in str(self).split():
            if len(line) + 1 + len(token) > policy.max_line_length and line.strip():
                lines.append(line)
                line = ""
            line += " " + token
        return policy.linesep.join([*lines, line]) + policy.linesep


_REGISTRY = HeaderRegistry()
_REGISTRY.map_to_type("in-reply-to", _MessageIdsHeader)
_REGISTRY.map_to_type("references", _MessageIdsHeader)
# CRLF line ends; 7-bit transfer encodings for the body, so any relay takes it (no 8BITMIME needed).
POLICY = email_policy.SMTP.clone(header_factory=_REGISTRY, cte_type="7bit")

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"({_ATOM}(?:\.{_ATOM})*)@({_LABEL}(?:\.{_LABEL})*)")
_MSG_ID = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9!#$%&'*+/=?^_`{{|}}~.\[\]:-]+")
# "Re:", "SV:", "Fwd[2]:" … at the start, any number; "[#123]" case tags anywhere
_PREFIXES = re.compile(r"^\s*(?:(?:re|sv|aw|vs|vb|fw|fwd)\s*(?:\[\d+\]|\(\d+\))?\s*:\s*)+", re.IGNORECASE)
_CASE_TAG = re.compile(r"\s*\[#\d{1,15}\]")
# an attachment's type as a plain type/subtype that is not itself a container of parts
_CONTENT_TYPE = re.compile(r"(?!multipart/|message/)[a-z0-9.+-]{1,100}/[a-z0-9.+-]{1,100}")


def one_line(text: str | None, limit: int) -> str:
    """Text for a header: control characters and line breaks gone, also those hidden in encoded words.

    Python's header parser decodes `=?UTF-8?Q?=0A?=` in a value it is given, and Python 3.11's
    generator writes the decoded line break out as a new header (CVE-2024-6923); so the value is
    decoded until nothing changes, and what still looks like an encoded word is broken up.
    """
    text = text or ""
    for _ in range(4):
        clean = " ".join(_CONTROL.sub(" ", text).split())[:limit].strip()
        decoded = str(POLICY.header_factory("subject", clean))
        if decoded == clean:
            return clean
        text = decoded
    return clean.replace("=?", "= ?")


def address(name: str | None, addr: str | None) -> Address:
    """A display name and an address checked to be one plain ASCII addr-spec, or Unsendable."""
    addr = (addr or "").strip()
    local, _, domain = addr.rpartition("@")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise Unsendable(f"not an address we can send to: {addr!r}") from None
    if len(addr) > 254 or "=?" in addr or not _ADDRESS.fullmatch(f"{local}@{domain}"):
        raise Unsendable(f"not an address we can send to: {addr!r}")
    return Address(display_name=one_line(name, MAX_NAME), username=local, domain=domain)


def attachment_type(value: str | None) -> str:
    """A file's declared type if it is a plain type/subtype, else application/octet-stream."""
    value = (value or "").split(";")[0].strip().lower()
    return value if _CONTENT_TYPE.fullmatch(value) else "application/octet-stream"


def _msg_ids(ids: Sequence[str | None]) -> list[str]:
    """Stored Message-IDs (from customers' mail: hostile) that are plain msg-ids, others dropped."""
    return [i for i in ids if i and len(i) <= 250 and "=?" not in i and _MSG_ID.fullmatch(i)]


def reply_subject(subject: str | None, case_number: int, *, reply: bool = True) -> str:
    """"Re: <subject> [#N]": earlier Re:/Sv:/Fwd: prefixes and case tags dropped, so each stays once.

    The mail that opens a case (a new mail we start) has no "Re:".
    """
    text, previous = one_line(subject, 1000), None
    while text != previous:
        previous = text
        text = _CASE_TAG.sub("", _PREFIXES.sub("", text)).strip()
    text = " ".join([*(["Re:"] if reply else []), *([text[:MAX_SUBJECT].strip()] if text else [])])
    return f"{text} [#{case_number}]" if text else f"[#{case_number}]"


def compose(*, mailbox_name: str, mailbox_address: str, customer_name: str | None, customer_address: str | None,
            subject: str | None, case_number: int, message_id: str, body: str,
            in_reply_to: str | None = None, references: Sequence[str] = (), at: datetime | None = None,
            cc: Sequence[str] = (), attachments: Sequence[Attachment] = (), opens_case: bool = False
            ) -> EmailMessage:
    """The reply as a mail, built only from these fields, each checked; Unsendable when it cannot be.

    Cc goes into the headers; Bcc never does (the envelope alone carries it: see send_job).
    With attachments the mail is multipart/mixed: the text first, then each file.
    """
    if not customer_address:
        raise Unsendable("the customer has no e-mail address")
    [own_id] = _msg_ids([message_id]) or [None]
    if own_id is None:
        raise Unsendable(f"not a Message-ID: {message_id!r}")
    thread = _msg_ids(references)
    if len(thread) > MAX_REFERENCES:  # the first and the newest, as RFC 5322 §3.6.4 suggests
        thread = [thread[0], *thread[-(MAX_REFERENCES - 1):]]
    mail = EmailMessage(policy=POLICY)
    mail["From"] = address(mailbox_name, mailbox_address)
    mail["To"] = address(customer_name, customer_address)
    if cc:
        mail["Cc"] = [address(None, a) for a in cc]
    mail["Subject"] = reply_subject(subject, case_number, reply=not opens_case)
    mail["Date"] = format_datetime((at or datetime.now(timezone.utc)).astimezone(timezone.utc))
    mail["Message-ID"] = f"<{own_id}>"
    if parent := _msg_ids([in_reply_to]):
        mail["In-Reply-To"] = f"<{parent[0]}>"
    if thread:
        mail["References"] = " ".join(f"<{i}>" for i in thread)
    text = "".join(ch for ch in (body or "").replace("\r\n", "\n").replace("\r", "\n")
                   if ch in "\n\t" or not _CONTROL.match(ch))
    mail.set_content(text.rstrip("\n") + "\n", charset="utf-8", cte="quoted-printable")
    for a in attachments:
        maintype, _, subtype = attachment_type(a.content_type).partition("/")
        mail.add_attachment(a.data, maintype=maintype, subtype=subtype, filename=one_line(a.filename, 255) or "file")
    _check_headers(mail)
    return mail


def _check_headers(mail: EmailMessage) -> None:
    """Read the bytes back: the same header names, each once, or the mail does not go."""
    try:
        data = mail.as_bytes(policy=POLICY)
    except (ValueError, TypeError, UnicodeError) as exc:
        raise Unsendable(f"cannot be written as a mail: {exc}") from exc
    read = [name.lower() for name in email.message_from_bytes(data, policy=email_policy.compat32).keys()]
    if read != [name.lower() for name in mail.keys()]:
        raise Unsendable(f"headers changed when written out: {read}")


# --- queueing and sending ------------------------------------------------------------------

QUEUE_LOOKUP = """
SELECT m.kind, m.delivery_state, v.kind AS conversation_kind, ch.address AS mailbox_address
FROM messages m
JOIN conversations v ON v.org_id = m.org_id AND v.id = m.conversation_id
JOIN channels ch ON ch.org_id = v.org_id AND ch.id = v.channel_id
WHERE m.org_id = $1 AND m.id = $2
FOR UPDATE OF m
"""

MARK_QUEUED = """
UPDATE messages SET mail_message_id = COALESCE(mail_message_id, $3), delivery_state = 'queued',
                    delivery_error = NULL, send_job_id = $4, cc = COALESCE($5, cc), bcc = COALESCE($6, bcc)
WHERE org_id = $1 AND id = $2
RETURNING conversation_id
"""

REPLY = """
SELECT m.id, m.conversation_id, m.kind, m.body_text, m.mail_message_id, m.delivery_state, m.created_at,
       m.cc, m.bcc, NOT EXISTS (SELECT 1 FROM messages p WHERE p.org_id = m.org_id
                                AND p.conversation_id = m.conversation_id AND p.kind <> 'note'
                                AND (p.created_at, p.id) < (m.created_at, m.id)) AS opens_case,
       v.subject, v.case_number, cu.name AS customer_name, cu.email AS customer_email,
       ch.name AS mailbox_name, ch.address AS mailbox_address, ch.relay_host, ch.relay_port
FROM messages m
JOIN conversations v ON v.org_id = m.org_id AND v.id = m.conversation_id
JOIN channels ch ON ch.org_id = v.org_id AND ch.id = v.channel_id
LEFT JOIN customers cu ON cu.org_id = v.org_id AND cu.id = v.customer_id
WHERE m.org_id = $1 AND m.id = $2
"""

# The mails before this reply in its conversation, oldest first: what it answers and its References.
THREAD = """
SELECT kind, mail_message_id FROM messages
WHERE org_id = $1 AND conversation_id = $2 AND mail_message_id IS NOT NULL
  AND kind IN ('customer', 'editor') AND (created_at, id) < ($4, $3)
ORDER BY created_at, id
"""

ATTACHMENTS = """
SELECT a.filename, a.content_type, b.data FROM attachments a
JOIN blobs b ON b.org_id = a.org_id AND b.sha256 = a.sha256
WHERE a.org_id = $1 AND a.message_id = $2 ORDER BY a.id
"""

# Only a pending reply changes state: "sent" and "failed" are final for its job.
RECORD = """
UPDATE messages SET delivery_state = $3, delivery_error = $4,
                    sent_at = CASE WHEN $3 = 'sent' THEN now() END
WHERE org_id = $1 AND id = $2 AND delivery_state IN ('queued', 'retrying')
RETURNING conversation_id
"""

DELIVERY = """
SELECT m.delivery_state AS state, m.delivery_error AS error, m.sent_at, m.mail_message_id,
       j.attempts, j.max_attempts, j.state AS job_state,
       CASE WHEN j.state = 'queued' THEN j.run_at END AS next_attempt_at
FROM messages m
LEFT JOIN jobs j ON j.org_id = m.org_id AND j.id = m.send_job_id
WHERE m.org_id = $1 AND m.id = $2
"""


def _id_domain(mailbox_address: str) -> str:
    domain = mailbox_address.rpartition("@")[2]
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return "samsyn.invalid"
    return domain if _ADDRESS.fullmatch(f"x@{domain}") else "samsyn.invalid"


async def queue_send(tx: Tx, message_id: int, *, cc: Sequence[str] | None = None,
                     bcc: Sequence[str] | None = None) -> None:
    """Queue an editor's reply in a mail case to be mailed, in the transaction that wrote it.

    Its Message-ID is stored now: the customer's answer threads back by it, and every attempt sends it.
    Cc and Bcc (checked addresses) are stored with it; None keeps those it has (sending a failed reply again).
    """
    row = await tx.fetchrow(QUEUE_LOOKUP, tx.org_id, message_id)
    if row is None:
        raise NotFound()
    if row["kind"] != "editor" or row["conversation_kind"] != "mail":
        raise ValueError("only an editor's reply in a mail case is sent by mail")
    if row["delivery_state"] in ("queued", "retrying", "sent"):
        return  # on its way or gone already
    job_id = await jobs.enqueue(tx, SEND, {"message_id": message_id}, max_attempts=SEND_ATTEMPTS)
    own_id = f"{uuid.uuid4().hex}@{_id_domain(row['mailbox_address'])}"
    conversation_id = await tx.fetchval(MARK_QUEUED, tx.org_id, message_id, own_id, job_id,
                                        None if cc is None else list(cc), None if bcc is None else list(bcc))
    await tx.emit("message.delivery_changed", conversation_id=conversation_id, message_id=message_id,
                  state="queued")


async def delivery(db: Database, org_id: int, message_id: int):
    """A reply's delivery: state, error, sent_at, Message-ID, and its job's attempts and next run."""
    return await db.read_one(org_id, DELIVERY, org_id, message_id)


async def _record(db: Database, org_id: int, message_id: int, state: str, error: str | None) -> None:
    async with db.transaction(org_id) as tx:
        conversation_id = await tx.fetchval(RECORD, org_id, message_id, state, error and error[:MAX_ERROR])
        if conversation_id is not None:
            await tx.emit("message.delivery_changed", conversation_id=conversation_id, message_id=message_id,
                          state=state)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        exc = exc.recipients[0]
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"the relay answered {exc.code} {exc.message}"
    if isinstance(exc, TimeoutError) and not isinstance(exc, aiosmtplib.SMTPException):
        return f"the relay did not finish within {SEND_TIMEOUT_SECONDS} s"
    return f"{type(exc).__name__}: {exc}"


def _permanent(exc: BaseException) -> bool:
    """A 5xx answer: the relay will refuse it again. Anything else (down, 4xx, timeout) may pass later."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(r.code >= 500 for r in exc.recipients)
    return isinstance(exc, aiosmtplib.SMTPResponseException) and 500 <= exc.code < 600


async def send_job(db: Database, job) -> None:
    """The worker's handler for "mail.send" jobs: mail the reply once, record how it went.

    A temporary failure is recorded as "retrying" and raised, so the job backs off; on the job's last
    attempt, and for a 5xx, the reply is "failed".
    """
    org_id, message_id = job.org_id, job.payload["message_id"]
    async with db.transaction(org_id, readonly=True) as tx:
        reply = await tx.fetchrow(REPLY, org_id, message_id)
        thread = [] if reply is None else await tx.fetch(THREAD, org_id, reply["conversation_id"], message_id,
                                                          reply["created_at"])
        files = [] if reply is None else [Attachment(**f) for f in await tx.fetch(ATTACHMENTS, org_id, message_id)]
    if reply is None or reply["delivery_state"] not in PENDING:
        return  # sent or given up by an earlier run: never mail the customer twice
    customer_ids = [r["mail_message_id"] for r in thread if r["kind"] == "customer"]
    try:
        mail = compose(mailbox_name=reply["mailbox_name"], mailbox_address=reply["mailbox_address"],
                       customer_name=reply["customer_name"], customer_address=reply["customer_email"],
                       subject=reply["subject"], case_number=reply["case_number"],
                       message_id=reply["mail_message_id"], body=reply["body_text"],
                       in_reply_to=customer_ids[-1] if customer_ids else None,
                       references=[r["mail_message_id"] for r in thread], cc=reply["cc"], attachments=files,
                       opens_case=reply["opens_case"])
        sender = mail["From"].addresses[0].addr_spec
        # the envelope: To, Cc and Bcc, each once; Bcc is in no header
        copies = [a.addr_spec for a in mail["Cc"].addresses] if mail["Cc"] else []
        blind = [address(None, a).addr_spec for a in reply["bcc"]]
        recipients = list(dict.fromkeys([mail["To"].addresses[0].addr_spec, *copies, *blind]))
        data = mail.as_bytes(policy=POLICY)
    except Unsendable as exc:
        await _record(db, org_id, message_id, "failed", str(exc))
        return
    relay = relay_for(reply["relay_host"], reply["relay_port"])
    try:
        async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
            await aiosmtplib.send(data, sender=sender, recipients=recipients, hostname=relay.host,
                                  port=relay.port, username=relay.username or None,
                                  password=relay.password or None, start_tls=relay.starttls,
                                  timeout=SMTP_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001 - whatever kept the relay from taking it is shown on the reply
        if _permanent(exc):
            await _record(db, org_id, message_id, "failed", _describe(exc))
            return
        last = job.attempts >= job.max_attempts
        await _record(db, org_id, message_id, "failed" if last else "retrying", _describe(exc))
        raise
    await _record(db, org_id, message_id, "sent", None)


async def send_gave_up(db: Database, job, error: str) -> None:
    """The send job failed for good outside send_job's own records (timed out, or its worker died)."""
    await _record(db, job.org_id, job.payload["message_id"], "failed", error)


# --- mail from the service itself (app/mail/account_mail.py: invites, password resets) ----------

def notice(*, sender_name: str, sender_address: str, to_name: str | None, to_address: str, subject: str,
           body: str, message_id: str, at: datetime | None = None) -> EmailMessage:
    """A mail that answers nothing, built like a reply: only from these fields, each checked."""
    [own_id] = _msg_ids([message_id]) or [None]
    if own_id is None:
        raise Unsendable(f"not a Message-ID: {message_id!r}")
    mail = EmailMessage(policy=POLICY)
    mail["From"] = address(sender_name, sender_address)
    mail["To"] = address(to_name, to_address)
    mail["Subject"] = one_line(subject, MAX_SUBJECT)
    mail["Date"] = format_datetime((at or datetime.now(timezone.utc)).astimezone(timezone.utc))
    mail["Message-ID"] = f"<{own_id}>"
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office answers back
    mail.set_content(body.rstrip("\n") + "\n", charset="utf-8", cte="quoted-printable")
    _check_headers(mail)
    return mail


def new_message_id(sender_address: str) -> str:
    return f"{uuid.uuid4().hex}@{_id_domain(sender_address)}"


async def deliver(mail: EmailMessage, relay: Relay) -> None:
    """Hand one composed mail to the relay, within SEND_TIMEOUT_SECONDS; raises what kept it from taking it."""
    async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
        await aiosmtplib.send(mail.as_bytes(policy=POLICY), sender=mail["From"].addresses[0].addr_spec,
                              recipients=[a.addr_spec for a in mail["To"].addresses], hostname=relay.host,
                              port=relay.port, username=relay.username or None, password=relay.password or None,
                              start_tls=relay.starttls, timeout=SMTP_TIMEOUT_SECONDS)


def permanent(exc: BaseException) -> bool:
    """A 5xx answer: sending again will not help."""
    return _permanent(exc)


def describe(exc: BaseException) -> str:
    """What kept the relay from taking a mail, for a page."""
    return _describe(exc)
