"""IMAP polling, for teams that cannot forward their mail: a mailbox's IMAP settings, and the poll.

Every worker runs the sweep `schedule` (workers/worker.py SWEEPS): it queues one "mail.imap_poll"
job per mailbox whose poll is due, never a second while one is unfinished, so two workers never
poll one mailbox at once. The job (`poll_job`) fetches the folder's new mails with BODY.PEEK[]
(which leaves them unseen), stores each through the SMTP ingress's path (raw bytes and parse job in
one transaction, de-duplicated by Message-ID and content hash), and only after that committed notes
its UID as stored and marks it \\Seen. New mails are those after the last stored UID, for as long as
the folder's UIDVALIDITY is the one that UID counts in, so a mail someone opened in another mail
program first still comes in. The first poll of a mailbox (and one after a UIDVALIDITY change: the
folder was renumbered) takes the unseen mails instead, and once they are all in, counts on from the
folder's highest UID. A poll cut off between storing and noting fetches the mail again next time,
and the de-duplication keeps one copy; a mail not stored is not noted, so none is lost.

How the last poll went (when, and what failed: a refused password, an unreachable host) is kept per
mailbox for the channel's settings page; a failing mailbox is retried less and less often, up to
hourly, and never holds up the others (each poll is its own job).
"""
from __future__ import annotations

import asyncio
import base64
import contextlib
import ipaddress
import logging
import re
import ssl
import unicodedata

import aioimaplib

from app import vault
from app.actors import AnyActor, require
from app.config import Settings
from app.db import Database
from app.errors import Invalid, NotFound
from app.i18n import N_
from app.jobs import Job
from app.mail import ingress

log = logging.getLogger(__name__)

POLL = "mail.imap_poll"
SECURITY = ("tls", "starttls", "none")
DEFAULT_PORT = {"tls": 993, "starttls": 143, "none": 143}
COMMAND_TIMEOUT_SECONDS = 30
# A large backlog comes in over several polls, each well inside the job's timeout (which sets every
# job's lease in workers/worker.py, so it stays short).
MAILS_PER_POLL = 100
POLL_BUDGET_SECONDS = 60  # no further mail is fetched after this long; the rest comes at the next poll
POLL_TIMEOUT_SECONDS = 120
SCHEDULE_LIMIT = 500  # polls queued per sweep
MAX_ERROR = 2000

# Shown to admins on the channel's page, beside the server's own words.
ERRORS = {
    "connect": N_("Could not connect to the IMAP server."),
    "tls": N_("The encrypted connection to the IMAP server failed."),
    "login": N_("The IMAP server refused the username or password."),
    "folder": N_("The folder could not be opened."),
    "key": N_("The saved password cannot be decrypted (the server's MAIL_PASSWORD_KEY is missing or has changed). "
              "Enter the password again."),
    "store": N_("A mail could not be stored. It stays unread on the IMAP server and is fetched at the next poll."),
    "server": N_("The IMAP server answered with an error."),
    "too_big": N_("A mail is larger than the size limit and stays unread on the IMAP server."),
}

_HOST = re.compile(r"^[A-Za-z0-9.:-]{1,253}$")

_key = ""
_interval = Settings.imap_poll_seconds
_max_bytes = Settings.mail_max_bytes


def configure(settings: Settings) -> None:
    """The key that decrypts passwords, the poll interval and the size limit; the worker calls it at start."""
    global _key, _interval, _max_bytes
    _key, _interval, _max_bytes = settings.mail_password_key, settings.imap_poll_seconds, settings.mail_max_bytes


class PollError(Exception):
    def __init__(self, kind: str, detail: str = ""):
        super().__init__(f"{kind}: {detail}")
        self.kind, self.detail = kind, detail


# --- settings -----------------------------------------------------------------------------------

SETTINGS = """
SELECT a.host, a.port, a.security, a.username, a.folder, a.enabled, a.updated_at,
       p.last_polled_at, p.last_error_kind, p.last_error, p.failing_since, p.fetched, p.next_poll_at
FROM channel_imap a LEFT JOIN imap_polls p ON p.org_id = a.org_id AND p.channel_id = a.channel_id
WHERE a.org_id = $1 AND a.channel_id = $2
"""

SAVE = """
INSERT INTO channel_imap (org_id, channel_id, host, port, security, username, password_encrypted, folder, enabled)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (org_id, channel_id) DO UPDATE SET
    host = EXCLUDED.host, port = EXCLUDED.port, security = EXCLUDED.security, username = EXCLUDED.username,
    password_encrypted = EXCLUDED.password_encrypted, folder = EXCLUDED.folder, enabled = EXCLUDED.enabled,
    updated_at = now()
"""

# New settings are tried at once, with the last one's error forgotten; another server, account or folder ($3)
# starts from its unseen mail.
RESCHEDULE = """
INSERT INTO imap_polls (org_id, channel_id) VALUES ($1, $2)
ON CONFLICT (org_id, channel_id) DO UPDATE SET
    next_poll_at = now(), failures = 0, failing_since = NULL, last_error_kind = NULL, last_error = NULL,
    uid_validity = CASE WHEN $3::boolean THEN NULL ELSE imap_polls.uid_validity END,
    last_uid = CASE WHEN $3::boolean THEN NULL ELSE imap_polls.last_uid END
"""


def error_message(kind: str | None) -> str | None:
    """The untranslated words for a poll error's kind (the template translates them)."""
    return ERRORS.get(kind) if kind else None


async def settings_of(db: Database, org_id: int, channel_id: int):
    """A mailbox's IMAP settings and how its last poll went, without the password; None when it has none."""
    return (await db.read(org_id, SETTINGS, org_id, channel_id) or [None])[0]


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _one_line(value: str, field: str, max_length: int, message: str) -> str:
    """Text for an IMAP command: NFC, trimmed, no control characters (they would split the command)."""
    text = unicodedata.normalize("NFC", value or "").strip()
    if not text:
        raise Invalid(message, field)
    if len(text) > max_length:
        raise Invalid(N_("That is too long: at most %(max)s characters."), field, max=max_length)
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text):
        raise Invalid(N_("Use visible characters only: no line breaks, tabs or invisible characters."), field)
    return text


def _clean(host: str, port: str, security: str, username: str, folder: str) -> tuple:
    host = (host or "").strip().lower()
    if not _HOST.match(host):
        raise Invalid(N_("Enter the IMAP server's host name, such as imap.example.se."), "imap_host")
    if security not in SECURITY:
        raise Invalid(N_("Choose how to connect: TLS, STARTTLS or unencrypted."), "imap_security")
    if security == "none" and not is_loopback(host):
        raise Invalid(N_("An unencrypted connection is allowed only to this machine (localhost): "
                         "choose TLS or STARTTLS."), "imap_security")
    port = (port or "").strip()
    if not port:
        number = DEFAULT_PORT[security]
    elif not port.isdigit() or not 1 <= int(port) <= 65535:
        raise Invalid(N_("The port is a number from 1 to 65535."), "imap_port")
    else:
        number = int(port)
    username = _one_line(username, "imap_username", 254, N_("Enter the username."))
    folder = _one_line(folder or "INBOX", "imap_folder", 200, N_("Enter the folder."))
    return host, number, security, username, folder


async def save_settings(db: Database, actor: AnyActor, channel_id: int, *, key: str, host: str, port: str,
                        security: str, username: str, password: str, folder: str, enabled: bool) -> None:
    """Set a mailbox's IMAP server; an empty password keeps the saved one. Polled at once when enabled."""
    require(actor, "channel.manage")
    host, number, security, username, folder = _clean(host, port, security, username, folder)
    if password and (len(password) > 1000 or re.search(r"[\x00\r\n]", password)):
        raise Invalid(N_("The password cannot hold line breaks and is at most 1000 characters."), "imap_password")
    async with db.transaction(actor.org_id) as tx:
        kind = await tx.fetchval("SELECT kind FROM channels WHERE org_id = $1 AND id = $2 FOR UPDATE",
                                 actor.org_id, channel_id)
        if kind is None:
            raise NotFound()
        if kind != "mailbox":
            raise Invalid(N_("Only a mailbox can fetch mail over IMAP."), "imap_host")
        before = await tx.fetchrow("SELECT host, port, username, folder, password_encrypted FROM channel_imap "
                                   "WHERE org_id = $1 AND channel_id = $2", actor.org_id, channel_id)
        saved = before and before["password_encrypted"]
        elsewhere = before is None or tuple(before)[:4] != (host, number, username, folder)
        if password:
            try:
                saved = vault.encrypt(key, password)
            except vault.KeyMissing:
                raise Invalid(N_("The server has no key to encrypt passwords with (MAIL_PASSWORD_KEY): "
                                 "ask whoever runs it."), "imap_password") from None
        elif saved is None:
            raise Invalid(N_("Enter the password."), "imap_password")
        await tx.execute(SAVE, actor.org_id, channel_id, host, number, security, username, saved, folder, enabled)
        await tx.execute(RESCHEDULE, actor.org_id, channel_id, elsewhere)
        await tx.emit("channel.updated", channel_id=channel_id, actor_id=actor.user_id)


# --- polling ------------------------------------------------------------------------------------

SCHEDULE = "SELECT schedule_imap_polls($1, $2)"

ACCOUNT = """
SELECT a.host, a.port, a.security, a.username, a.password_encrypted, a.folder, p.uid_validity, p.last_uid
FROM channel_imap a LEFT JOIN imap_polls p USING (org_id, channel_id)
WHERE a.org_id = $1 AND a.channel_id = $2 AND a.enabled
"""

# A mail too big to take is passed over once: its report stays until another poll finds something to say.
RECORD_POLLED = """
UPDATE imap_polls SET last_polled_at = now(), fetched = $3, failing_since = NULL, failures = 0,
    last_error_kind = CASE WHEN $4::text IS NOT NULL THEN $4 WHEN last_error_kind = 'too_big' THEN 'too_big' END,
    last_error = CASE WHEN $4::text IS NOT NULL THEN $5 WHEN last_error_kind = 'too_big' THEN last_error END
WHERE org_id = $1 AND channel_id = $2
"""

# Every mail of the folder up to this UID is in (stored, or too big to take).
RECORD_UID = "UPDATE imap_polls SET uid_validity = $3, last_uid = $4 WHERE org_id = $1 AND channel_id = $2"

# The interval doubles with each failure in a row, up to an hour: a wrong password is not tried every minute.
RECORD_FAILED = """
UPDATE imap_polls SET last_error_kind = $3, last_error = $4, failing_since = coalesce(failing_since, now()),
    failures = failures + 1,
    next_poll_at = greatest(next_poll_at, now() + make_interval(secs => least($5 * 2 ^ least(failures, 6), 3600)))
WHERE org_id = $1 AND channel_id = $2
"""


async def schedule(db: Database) -> int:
    """The sweep: queue a poll job for every mailbox whose poll is due; returns how many."""
    async with db.transaction(None) as tx:
        return await tx.fetchval(SCHEDULE, _interval, SCHEDULE_LIMIT)


async def poll_job(db: Database, job: Job) -> None:
    await poll(db, job.org_id, job.payload["channel_id"])


async def poll(db: Database, org_id: int, channel_id: int) -> int:
    """Fetch a mailbox's unseen mail once and record how it went; returns how many mails were new."""
    account = (await db.read(org_id, ACCOUNT, org_id, channel_id) or [None])[0]
    if account is None:  # removed or disabled since the job was queued
        return 0
    try:
        try:
            password = vault.decrypt(_key, account["password_encrypted"])
        except (vault.KeyMissing, vault.Undecryptable) as exc:
            raise PollError("key", str(exc)) from None
        stored, too_big = await _fetch(db, ingress.Mailbox(org_id, channel_id), account, password)
    except PollError as exc:
        log.warning("IMAP poll failed", extra={"org_id": org_id, "channel_id": channel_id, "error": str(exc)})
        async with db.transaction(org_id) as tx:
            await tx.execute(RECORD_FAILED, org_id, channel_id, exc.kind, exc.detail[:MAX_ERROR], _interval)
        return 0
    async with db.transaction(org_id) as tx:
        await tx.execute(RECORD_POLLED, org_id, channel_id, stored, "too_big" if too_big else None,
                         ", ".join(too_big)[:MAX_ERROR] or None)
    return stored


def _words(response) -> str:
    return " ".join(line.decode("utf-8", "replace") for line in response.lines
                    if isinstance(line, bytes | bytearray))[:MAX_ERROR]


def _ok(response, kind: str) -> None:
    if response.result != "OK":
        raise PollError(kind, _words(response))


def mailbox_name(folder: str) -> str:
    """A folder name as IMAP writes it (modified UTF-7, RFC 3501 5.1.3), quoted: "Inkorg/Kundtjänst"."""
    out, wide = [], []

    def flush():
        if wide:
            encoded = base64.b64encode("".join(wide).encode("utf-16-be")).decode().rstrip("=").replace("/", ",")
            out.append(f"&{encoded}-")
            wide.clear()

    for ch in folder:
        if " " <= ch <= "~":
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            wide.append(ch)
    flush()
    return aioimaplib.quoted("".join(out))


async def _connect(account) -> aioimaplib.IMAP4:
    host, port, security = account["host"], account["port"], account["security"]
    context = ssl.create_default_context()  # the server's certificate is verified, its name checked
    try:
        if security == "tls":
            client = aioimaplib.IMAP4_SSL(host, port, timeout=COMMAND_TIMEOUT_SECONDS, ssl_context=context)
        else:
            client = aioimaplib.IMAP4(host, port, timeout=COMMAND_TIMEOUT_SECONDS)
        await client.wait_hello_from_server()
    except ssl.SSLError as exc:
        raise PollError("tls", str(exc)) from None
    except (OSError, TimeoutError, aioimaplib.AioImapException) as exc:
        raise PollError("connect", str(exc) or type(exc).__name__) from None
    if security == "starttls":
        await _starttls(client, host, context)
    return client


async def _starttls(client: aioimaplib.IMAP4, host: str, context: ssl.SSLContext) -> None:
    """Upgrade the connection before the password goes over it (aioimaplib has no STARTTLS of its own)."""
    protocol = client.protocol
    if "STARTTLS" not in protocol.capabilities:
        raise PollError("tls", "the server does not offer STARTTLS")
    try:
        command = aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
        _ok(await asyncio.wait_for(protocol.execute(command), COMMAND_TIMEOUT_SECONDS), "tls")
        protocol.transport = await asyncio.get_running_loop().start_tls(
            protocol.transport, protocol, context, server_hostname=host,
            ssl_handshake_timeout=COMMAND_TIMEOUT_SECONDS)
        await asyncio.wait_for(protocol.capability(), COMMAND_TIMEOUT_SECONDS)  # asked again over TLS
    except (ssl.SSLError, ConnectionError, TimeoutError, aioimaplib.AioImapException) as exc:
        raise PollError("tls", str(exc) or type(exc).__name__) from None


def _literal(response) -> bytes | None:
    return next((bytes(line) for line in response.lines if isinstance(line, bytearray)), None)


def _numbers(response) -> list[int]:
    """The UIDs a UID SEARCH answered, in order."""
    return sorted({int(w) for line in response.lines[:-1] for w in line.split() if w.isdigit()})


def _selected(response, item: bytes) -> int | None:
    """A number SELECT's answer gives, e.g. [UIDVALIDITY 1700000000] or [UIDNEXT 42]."""
    match = re.search(rb"\[" + item + rb" (\d+)\]", b" ".join(bytes(x) for x in response.lines))
    return int(match.group(1)) if match else None


async def _fetch(db: Database, mailbox: ingress.Mailbox, account, password: str) -> tuple[int, list[str]]:
    """One IMAP session: store each new mail, note its UID, mark it seen. Returns (mails new here, UIDs too big)."""
    client = await _connect(account)
    stored, too_big = 0, []
    try:
        try:
            _ok(await client.login(account["username"], password), "login")
            selected = await client.select(mailbox_name(account["folder"]))
            _ok(selected, "folder")
            validity, following = _selected(selected, b"UIDVALIDITY"), _selected(selected, b"UIDNEXT")
            counted = validity is not None and validity == account["uid_validity"] and account["last_uid"] is not None
            if counted:  # every mail after the last one stored, read or not
                found = await client.uid_search(f"UID {account['last_uid'] + 1}:*", charset=None)
                _ok(found, "server")
                uids = [uid for uid in _numbers(found) if uid > account["last_uid"]]  # n:* names the last one anyway
            else:  # a mailbox new to us, or renumbered: its unseen mail, then count on from here
                found = await client.uid_search("UNSEEN", charset=None)
                _ok(found, "server")
                uids = _numbers(found)

            async def note(uid: int) -> None:  # bookkeeping of the poll, in its own short transaction
                async with db.transaction(mailbox.org_id) as tx:
                    await tx.execute(RECORD_UID, mailbox.org_id, mailbox.channel_id, validity, uid)

            deadline = asyncio.get_running_loop().time() + POLL_BUDGET_SECONDS
            done = 0
            for uid in uids[:MAILS_PER_POLL]:
                if asyncio.get_running_loop().time() > deadline:
                    break
                done += 1
                size = await client.uid("fetch", str(uid), "(RFC822.SIZE)")
                _ok(size, "server")
                match = re.search(rb"RFC822\.SIZE (\d+)", b" ".join(bytes(x) for x in size.lines))
                if match and int(match.group(1)) > _max_bytes:
                    too_big.append(f"UID {uid}: {int(match.group(1))} bytes")
                    if counted:
                        await note(uid)  # passed over, and reported
                    continue
                fetched = await client.uid("fetch", str(uid), "(BODY.PEEK[])")
                _ok(fetched, "server")
                raw = _literal(fetched)
                if raw is not None:  # else expunged meanwhile
                    try:
                        new = await ingress.store(db, mailbox, raw, envelope_to=account["username"])
                    except Exception as exc:  # noqa: BLE001 - not stored, not noted: the next poll takes it again
                        raise PollError("store", f"{type(exc).__name__}: {exc}") from None
                    stored += new is not None
                # Only now, with the mail committed: a crash before these lines fetches it again (deduplicated).
                if counted:
                    await note(uid)
                if raw is not None:
                    _ok(await asyncio.wait_for(client.uid("store", str(uid), "+FLAGS.SILENT", r"(\Seen)"),
                                               COMMAND_TIMEOUT_SECONDS), "server")
            if not counted and done == len(uids) and validity is not None and following is not None:
                await note(following - 1)  # all the unseen ones are in: count on from the folder's highest UID
        except (OSError, TimeoutError, aioimaplib.AioImapException) as exc:
            raise PollError("connect", str(exc) or type(exc).__name__) from None
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.logout(), 5)
        if client.protocol.transport is not None:
            client.protocol.transport.close()
    return stored, too_big
