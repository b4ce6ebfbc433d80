"""Drafts: a reply (or a new mail) being written, kept on the server per person and per case.

A draft is its writer's alone: every query names the writer, and no page shows it to anyone else,
so saving one appends no event (tests/conftest.py BOOKKEEPING). It is saved as they type and when a
send fails, survives a reload, and is emptied when the reply is sent. Files uploaded to a draft are
stored content-addressed in blobs, as incoming attachments are (app/mail/receive.py), and become the
sent message's attachments.

A save names the draft's generation its page showed (the number of sends that emptied it before).
Sending starts the next generation, so an autosave still on its way from the page that sent cannot
bring the sent text back; the generation is the same in every render until a send, so pages stay
equal to their replays.
"""
from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, field

from app.actors import AnyActor, require
from app.db import Database, Tx
from app.errors import Invalid, NotFound
from app.i18n import N_
from app.mail import outgoing

# What the files of one mail may weigh: base64 makes them a third larger on the way out, and the text
# and headers need room too, so that the whole mail stays within MAIL_MAX_BYTES (ours, and most others').
MAIL_TEXT_ROOM = 1024 * 1024
# stored as typed (validated when sent), cut to the columns' limits
LIMITS = {"body": 200_000, "cc": 10_000, "bcc": 10_000, "to_address": 1000, "subject": 1000}
TEXT_FIELDS = tuple(LIMITS)


def files_budget(mail_max_bytes: int) -> int:
    """The bytes of files one mail may carry."""
    return max(0, mail_max_bytes * 3 // 4 - MAIL_TEXT_ROOM)


class TooLarge(Invalid):
    """The files would not fit into one mail."""

    def __init__(self, budget: int):
        super().__init__(N_("That is too big: the files of one mail can be at most %(max)s MB together."), "files",
                         max=budget // (1024 * 1024))


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes | bytearray  # as read from the upload, not copied


@dataclass
class Draft:
    body: str = ""
    cc: str = ""
    bcc: str = ""
    to_address: str = ""
    subject: str = ""
    channel_id: int | None = None
    files: list = field(default_factory=list)  # id, filename, content_type, size
    generation: int = 0

    @property
    def files_size(self) -> int:
        return sum(f["size"] for f in self.files)


def safe_filename(name: str | None) -> str:
    """A sender's file name as we keep it: no folders, no control or invisible characters, at most 255."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rpartition("/")[2]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp", "Co", "Cn"))
    name = " ".join(name.split()).strip(" .")[:255].strip()
    return name or "file"


# The person's draft of this case (conversation NULL: their new mail).
WHERE_MINE = "d.org_id = $1 AND d.user_id = $2 AND d.conversation_id IS NOT DISTINCT FROM $3"

SAVE = """
INSERT INTO drafts AS d (org_id, user_id, conversation_id, body, cc, bcc, to_address, subject, channel_id)
VALUES ($1, $2, $3, coalesce($4, ''), coalesce($5, ''), coalesce($6, ''), coalesce($7, ''), coalesce($8, ''),
        (SELECT id FROM channels WHERE org_id = $1 AND id = $9 AND kind = 'mailbox'))
ON CONFLICT (org_id, user_id, conversation_id) DO UPDATE SET
    body = coalesce($4, d.body), cc = coalesce($5, d.cc), bcc = coalesce($6, d.bcc),
    to_address = coalesce($7, d.to_address), subject = coalesce($8, d.subject),
    channel_id = CASE WHEN $9::bigint IS NULL THEN d.channel_id ELSE EXCLUDED.channel_id END, updated_at = now()
WHERE $10::integer IS NULL OR d.generation = $10
RETURNING d.id
"""

READ = f"""
SELECT d.id, d.body, d.cc, d.bcc, d.to_address, d.subject, d.channel_id, d.generation FROM drafts d
WHERE {WHERE_MINE}
"""

FILES = """
SELECT id, filename, content_type, size FROM draft_files WHERE org_id = $1 AND draft_id = $2 ORDER BY id
"""

ADD_FILE = """
INSERT INTO draft_files (org_id, draft_id, sha256, filename, content_type, size) VALUES ($1, $2, $3, $4, $5, $6)
"""

REMOVE_FILE = "DELETE FROM draft_files WHERE org_id = $1 AND draft_id = $2 AND id = $3 RETURNING sha256"

# A file no message and no draft holds any more.
DROP_UNUSED_BLOB = """
DELETE FROM blobs b WHERE b.org_id = $1 AND b.sha256 = $2
  AND NOT EXISTS (SELECT 1 FROM attachments a WHERE a.org_id = b.org_id AND a.sha256 = b.sha256)
  AND NOT EXISTS (SELECT 1 FROM draft_files f WHERE f.org_id = b.org_id AND f.sha256 = b.sha256)
"""

TAKE_FILES = f"""
WITH taken AS (
    DELETE FROM draft_files f USING drafts d
    WHERE f.org_id = d.org_id AND f.draft_id = d.id AND {WHERE_MINE}
    RETURNING f.id, f.sha256, f.filename, f.content_type
)
INSERT INTO attachments (org_id, message_id, sha256, filename, content_type)
SELECT $1, $4, sha256, filename, content_type FROM taken ORDER BY id
"""

# Emptied, not deleted: the next generation begins. The mailbox stays chosen.
END = """
INSERT INTO drafts AS d (org_id, user_id, conversation_id, generation) VALUES ($1, $2, $3, 1)
ON CONFLICT (org_id, user_id, conversation_id) DO UPDATE SET
    body = '', cc = '', bcc = '', to_address = '', subject = '', generation = d.generation + 1, updated_at = now()
"""


def _text(fields: dict) -> list:
    """The text fields in SAVE's order, cut to their limits; None for those not given (kept as they are)."""
    return [None if fields.get(name) is None else str(fields[name])[:LIMITS[name]] for name in TEXT_FIELDS]


def _channel(value) -> int | None:
    try:
        channel_id = int(value)
    except (TypeError, ValueError):
        return None
    return channel_id if 0 < channel_id < 2**63 else None


async def _check(tx: Tx, actor: AnyActor, conversation_id: int | None) -> str | None:
    """May this person write here? The conversation's kind (None for a new mail); NotFound outside the organisation."""
    require(actor, "draft.write")
    if conversation_id is None:
        return None
    kind = await tx.fetchval("SELECT kind FROM conversations WHERE org_id = $1 AND id = $2", tx.org_id,
                             conversation_id)
    if kind is None:
        raise NotFound()
    return kind


async def check_writer(db: Database, actor: AnyActor, conversation_id: int | None, *, files: bool = False) -> None:
    """Refuse before an upload is read: not allowed to write here, no such conversation, or (files) a forum thread."""
    async with db.transaction(actor.org_id, readonly=True) as tx:
        if await _check(tx, actor, conversation_id) == "forum" and files:
            raise Invalid(N_("Files go with mail only."), "files")


async def _save_in(tx: Tx, actor: AnyActor, conversation_id: int | None, generation: int | None,
                   fields: dict) -> int | None:
    """Store what was typed into `generation` (None: whichever); the draft's id, or None when that was sent."""
    return await tx.fetchval(SAVE, tx.org_id, actor.user_id, conversation_id, *_text(fields),
                             _channel(fields.get("channel_id")), generation)


async def save(db: Database, actor: AnyActor, conversation_id: int | None, generation: int | None, **fields) -> bool:
    """Save what the person typed (fields not given stay as they were); False when that page's draft was sent."""
    async with db.transaction(actor.org_id) as tx:
        await _check(tx, actor, conversation_id)
        return await _save_in(tx, actor, conversation_id, generation, fields) is not None


async def get(db: Database, actor: AnyActor, conversation_id: int | None) -> Draft:
    """The person's draft here with its files; an empty one when there is none."""
    async with db.transaction(actor.org_id, readonly=True) as tx:
        row = await tx.fetchrow(READ, tx.org_id, actor.user_id, conversation_id)
        if row is None:
            return Draft()
        files = await tx.fetch(FILES, tx.org_id, row["id"])
    return Draft(row["body"], row["cc"], row["bcc"], row["to_address"], row["subject"], row["channel_id"],
                 [dict(f) for f in files], row["generation"])


async def room(db: Database, actor: AnyActor, conversation_id: int | None, budget: int) -> int:
    """How many more bytes of files the person's draft here can take."""
    return max(0, budget - (await get(db, actor, conversation_id)).files_size)


async def add_files(db: Database, actor: AnyActor, conversation_id: int | None, generation: int | None,
                    files: list[Upload], budget: int, **fields) -> None:
    """Save the typed fields and attach the files to the draft; TooLarge past `budget` bytes of files in all."""
    async with db.transaction(actor.org_id) as tx:
        if await _check(tx, actor, conversation_id) == "forum":
            raise Invalid(N_("Files go with mail only."), "files")
        draft_id = await _save_in(tx, actor, conversation_id, generation, fields)  # the upsert locks the draft's row
        if draft_id is None:
            raise Invalid(N_("This was sent already. Reload the page to write a new one."), "files")
        used = await tx.fetchval("SELECT coalesce(sum(size), 0) FROM draft_files WHERE org_id = $1 AND draft_id = $2",
                                 tx.org_id, draft_id)
        if used + sum(len(f.data) for f in files) > budget:
            raise TooLarge(budget)
        for f in files:
            digest = hashlib.sha256(f.data).digest()
            await tx.execute("INSERT INTO blobs (org_id, sha256, size, data) VALUES ($1, $2, $3, $4) "
                             "ON CONFLICT DO NOTHING", tx.org_id, digest, len(f.data), f.data)
            await tx.execute(ADD_FILE, tx.org_id, draft_id, digest, safe_filename(f.filename),
                             outgoing.attachment_type(f.content_type), len(f.data))


async def remove_file(db: Database, actor: AnyActor, conversation_id: int | None, generation: int | None,
                      file_id: int, **fields) -> None:
    """Save the typed fields and take a file off the draft (its content goes when nothing else holds it)."""
    async with db.transaction(actor.org_id) as tx:
        await _check(tx, actor, conversation_id)
        draft_id = await _save_in(tx, actor, conversation_id, generation, fields)
        if draft_id is not None and (digest := await tx.fetchval(REMOVE_FILE, tx.org_id, draft_id, file_id)):
            await tx.execute(DROP_UNUSED_BLOB, tx.org_id, digest)


async def send_in(tx: Tx, actor: AnyActor, conversation_id: int | None, message_id: int) -> None:
    """In the transaction that wrote the message: the draft's files become its attachments, the draft is emptied."""
    await tx.execute(TAKE_FILES, tx.org_id, actor.user_id, conversation_id, message_id)
    await tx.execute(END, tx.org_id, actor.user_id, conversation_id)
