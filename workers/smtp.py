"""The SMTP ingress process (`python -m workers.smtp`): mail forwarded to a mailbox, stored, then 250.

250 only after the raw mail and its parse job have committed: an SMTP server that says 250 has
taken responsibility for the mail (RFC 5321 §6.1). Anything that keeps us from storing it is a
4xx, so the sender retries; 5xx only for what will never work (no such mailbox, too big).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket

import redis.asyncio as aioredis
from aiosmtpd.smtp import SMTP, Envelope, Session

from app import logs
from app.config import Settings
from app.db import Database, StartupError
from app.mail import ingress

log = logging.getLogger("samsyn.smtp")

# Well below the 10 minutes senders wait for the answer to DATA (RFC 5321 §4.5.3.2.6).
STORE_TIMEOUT_SECONDS = 30
TRY_AGAIN = "451 4.3.0 Temporarily unable to store the mail, try again later"
NO_SUCH_MAILBOX = "550 5.1.1 No such mailbox here"


class IngressHandler:
    """aiosmtpd hooks: route each recipient to a mailbox, store the mail once per mailbox."""

    def __init__(self, db: Database, settings: Settings):
        self.db, self.settings = db, settings

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list) -> str:
        try:
            mailbox = await asyncio.wait_for(
                ingress.mailbox_for(self.db, address, self.settings.ingress_domain), STORE_TIMEOUT_SECONDS)
        except Exception:  # noqa: BLE001 - the database is down or slow: the sender must retry
            log.warning("cannot route a recipient", exc_info=True)
            return TRY_AGAIN
        if mailbox is None:
            return NO_SUCH_MAILBOX
        envelope.rcpt_tos.append(address)
        mailboxes = envelope.__dict__.setdefault("mailboxes", [])
        if mailbox not in mailboxes:
            mailboxes.append(mailbox)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            for mailbox in envelope.__dict__.get("mailboxes", []):
                await asyncio.wait_for(ingress.store(
                    self.db, mailbox, raw, envelope_from=envelope.mail_from or "",
                    envelope_to=", ".join(envelope.rcpt_tos)), STORE_TIMEOUT_SECONDS)
        except Exception:  # noqa: BLE001 - not stored, so not accepted: the sender retries
            log.warning("cannot store a mail", exc_info=True)
            return TRY_AGAIN
        log.info("mail stored", extra={"bytes": len(raw), "recipients": len(envelope.rcpt_tos)})
        return "250 2.0.0 OK: stored"


class IngressSMTP(SMTP):
    # RFC 5321 caps lines at 1000 octets, but real mail breaks it (HTML on one line: the corpus has
    # 24,000-octet lines), and a 500 would bounce a customer's mail. The size limit bounds the whole.
    line_length_limit = 1024 * 1024


def smtp_factory(db: Database, settings: Settings):
    """What accepts each SMTP connection: the ingress hooks and the size limit (552 above it)."""
    hostname = socket.getfqdn()
    return lambda: IngressSMTP(IngressHandler(db, settings), data_size_limit=settings.mail_max_bytes,
                        hostname=hostname, enable_SMTPUTF8=True)


async def serve(settings: Settings) -> None:
    redis = aioredis.from_url(settings.redis_url, socket_timeout=1, socket_connect_timeout=1)
    db = await Database.connect(settings, redis)
    server = await asyncio.get_running_loop().create_server(
        smtp_factory(db, settings), settings.smtp_host, settings.smtp_port)
    log.info("smtp ingress listening", extra={"host": settings.smtp_host, "port": settings.smtp_port,
                                             "ingress_domain": settings.ingress_domain})
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 10)
        await db.close()
        await redis.aclose()


def main() -> int:
    logs.configure()
    try:
        asyncio.run(serve(Settings.from_env()))
    except StartupError as exc:
        log.error(str(exc))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
