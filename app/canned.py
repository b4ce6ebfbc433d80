"""Canned replies: ready answers an editor inserts with a click or by typing /shortcut, variables filled in."""
from __future__ import annotations

import re

import asyncpg

from app.actors import AnyActor, require
from app.db import Database
from app.errors import Invalid, NotFound
from app.i18n import N_
from app.text import clean_name

SHORTCUT_RE = re.compile(r"^[a-z0-9åäö-]{1,30}$")
MAX_BODY = 20_000
# {kund} the customer's name, {ärende} the case number, {redaktör} the replying editor's name
VARIABLES = ("kund", "ärende", "redaktör")

LIBRARY = """
SELECT r.id, r.title, r.shortcut, r.body, r.channel_id, ch.name AS channel_name
FROM canned_replies r LEFT JOIN channels ch ON ch.org_id = r.org_id AND ch.id = r.channel_id
WHERE r.org_id = $1 {where}
ORDER BY lower(r.title), r.id
"""


async def library(db: Database, org_id: int) -> list:
    """The whole team library, as the canned replies page lists it."""
    return await db.read(org_id, LIBRARY.format(where=""), org_id)


async def offered(db: Database, org_id: int, channel_id: int) -> list:
    """The replies offered in one channel: its own and those for every channel."""
    return await db.read(org_id, LIBRARY.format(where="AND (r.channel_id IS NULL OR r.channel_id = $2)"),
                         org_id, channel_id)


def fill(body: str, *, customer: str, case_number: int, editor: str) -> str:
    """The text with its variables replaced; unknown {words} are left as they are."""
    values = {"kund": customer or "", "ärende": f"#{case_number}", "redaktör": editor}
    return re.sub(r"\{(kund|ärende|redaktör)\}", lambda m: values[m.group(1)], body)


async def create(db: Database, actor: AnyActor, *, title: str, body: str, shortcut: str = "",
                 channel_id: int | None = None) -> int:
    require(actor, "canned.manage")
    title = clean_name(title, "title", 100, message=N_("Give it a title."))
    body = (body or "").replace("\r\n", "\n").strip()
    if not body or len(body) > MAX_BODY:
        raise Invalid(N_("Write the reply (at most %(max)s characters)."), "body", max=MAX_BODY)
    shortcut = (shortcut or "").strip().lower().lstrip("/")
    if shortcut and not SHORTCUT_RE.match(shortcut):
        raise Invalid(N_("A shortcut uses a–ö, 0–9 and hyphens, at most 30 characters."), "shortcut")
    try:
        async with db.transaction(actor.org_id) as tx:
            if channel_id is not None and not await tx.fetchval(
                    "SELECT 1 FROM channels WHERE org_id = $1 AND id = $2", actor.org_id, channel_id):
                raise NotFound()
            reply_id = await tx.fetchval(
                """INSERT INTO canned_replies (org_id, channel_id, title, shortcut, body)
                   VALUES ($1, $2, $3, $4, $5) RETURNING id""",
                actor.org_id, channel_id, title, shortcut or None, body)
            await tx.emit("canned.changed", canned_reply_id=reply_id, actor_id=actor.user_id)
    except asyncpg.UniqueViolationError:
        raise Invalid(N_("Another reply has that shortcut."), "shortcut") from None
    return reply_id


async def delete(db: Database, actor: AnyActor, reply_id: int) -> None:
    require(actor, "canned.manage")
    async with db.transaction(actor.org_id) as tx:
        if not await tx.fetchval("DELETE FROM canned_replies WHERE org_id = $1 AND id = $2 RETURNING 1",
                                 actor.org_id, reply_id):
            raise NotFound()
        await tx.emit("canned.changed", canned_reply_id=reply_id, actor_id=actor.user_id)
