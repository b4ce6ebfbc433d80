"""Mail in: which mailbox an envelope recipient names, and storing a mail verbatim with its parse job.

The SMTP ingress (workers/smtp.py) and the IMAP poller call these; both answer "accepted" only
after `store` has committed, so nothing is accepted that is not stored.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from app import jobs
from app.db import Database

# Header lines that relays add or rewrite on the way: a mail delivered again differs only in
# these, so they are left out of the content hash that recognises it.
TRACE_HEADERS = {b"received", b"return-path", b"delivered-to", b"x-original-to", b"x-received",
                 b"authentication-results", b"received-spf", b"arc-seal", b"arc-message-signature",
                 b"arc-authentication-results", b"x-forwarded-to", b"x-forwarded-for", b"x-spam-status",
                 b"x-spam-score", b"x-spam-flag", b"x-virus-scanned"}
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_MESSAGE_ID = re.compile(rb"<?([^<>\s]{1,900})>?")

STORE = """
INSERT INTO raw_mails (org_id, channel_id, message_id, content_hash, envelope_from, envelope_to, raw)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (org_id, coalesce(message_id, ''), content_hash) DO NOTHING
RETURNING id
"""


@dataclass(frozen=True)
class Mailbox:
    org_id: int
    channel_id: int


def split_address(address: str) -> tuple[str, str]:
    """(local part without its +tag, domain), lower-cased."""
    local, _, domain = address.strip().strip("<>").lower().rpartition("@")
    return local.split("+", 1)[0], domain


async def mailbox_for(db: Database, recipient: str, ingress_domain: str) -> Mailbox | None:
    """The mailbox an envelope recipient names: its ingress address or its public one, +tags allowed."""
    local, domain = split_address(recipient)
    if not local or not domain:
        return None
    async with db.transaction(None, readonly=True) as tx:
        row = await tx.fetchrow("SELECT org_id, channel_id FROM mailbox_for_address($1, $2)",
                                local if domain == ingress_domain else None, f"{local}@{domain}")
    return Mailbox(row["org_id"], row["channel_id"]) if row else None


def _header_block(raw: bytes) -> tuple[bytes, bytes]:
    end = _HEADER_END.search(raw)
    return (raw[:end.start()], raw[end.end():]) if end else (raw, b"")


def _headers(block: bytes) -> list[tuple[bytes, bytes]]:
    """(lower-case name, unfolded value) of each header line, read leniently: no parsing can fail here."""
    headers: list[tuple[bytes, bytes]] = []
    for line in re.split(rb"\r?\n", block):
        if line[:1] in (b" ", b"\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + b" " + line.strip())
        elif b":" in line:
            name, _, value = line.partition(b":")
            headers.append((name.strip().lower(), value.strip()))
    return headers


def identity(raw: bytes) -> tuple[str | None, bytes]:
    """The mail's Message-ID (without <>, None if missing) and a hash of its content without relay headers."""
    block, body = _header_block(raw)
    headers = _headers(block)
    digest = hashlib.sha256()
    for name, value in headers:
        if name not in TRACE_HEADERS:
            digest.update(name + b":" + value + b"\n")
    digest.update(b"\n" + body)
    message_id = next((v for n, v in headers if n == b"message-id"), b"")
    found = _MESSAGE_ID.search(message_id)
    return (found.group(1).decode("utf-8", "replace") if found else None), digest.digest()


async def store(db: Database, mailbox: Mailbox, raw: bytes, *, envelope_from: str = "",
                envelope_to: str = "") -> int | None:
    """Keep the mail verbatim and queue its parsing, in one transaction; None when it was stored before."""
    message_id, content_hash = identity(raw)
    async with db.transaction(mailbox.org_id) as tx:
        raw_mail_id = await tx.fetchval(STORE, mailbox.org_id, mailbox.channel_id, message_id, content_hash,
                                        envelope_from[:998], envelope_to[:998], raw)
        if raw_mail_id is not None:
            await jobs.enqueue(tx, "mail.parse", {"raw_mail_id": raw_mail_id})
    return raw_mail_id
