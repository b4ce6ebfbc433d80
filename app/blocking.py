"""Blocked senders: an address or a whole domain whose mail is kept raw and set aside, never a case."""
from __future__ import annotations

import re

from app.actors import AnyActor, require
from app.db import Database, Tx
from app.errors import Invalid, NotFound
from app.i18n import N_
from app.text import clean_address

ADDRESS = re.compile(r"[^@\s]+@([a-z0-9-]+(?:\.[a-z0-9-]+)+)")
DOMAIN = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)+")

BLOCKED = """
SELECT b.id, b.pattern, b.created_at, u.name AS blocked_by_name
FROM blocked_senders b LEFT JOIN users u ON u.id = b.blocked_by
WHERE b.org_id = $1 ORDER BY b.pattern
"""


def pattern_of(value: str) -> str:
    """An address as it is, or a domain ("@example.se" or "example.se"); Invalid otherwise."""
    value = clean_address(value).removeprefix("@")
    if not (ADDRESS.fullmatch(value) or DOMAIN.fullmatch(value)) or len(value) > 254:
        raise Invalid(N_("Enter an e-mail address or a domain, like karin@example.se or example.se."), "pattern")
    return value


def domain_of(address: str) -> str:
    return address.rpartition("@")[2]


async def block(db: Database, actor: AnyActor, address_or_domain: str) -> int | None:
    """Block a sender's address or domain; returns the block, None when it was blocked already."""
    require(actor, "sender.block")
    pattern = pattern_of(address_or_domain)
    async with db.transaction(actor.org_id) as tx:
        block_id = await tx.fetchval(
            """INSERT INTO blocked_senders (org_id, pattern, blocked_by) VALUES ($1, $2, $3)
               ON CONFLICT (org_id, pattern) DO NOTHING RETURNING id""", actor.org_id, pattern, actor.user_id)
        if block_id is not None:
            await tx.emit("sender.blocked", block_id=block_id, actor_id=actor.user_id)
    return block_id


async def unblock(db: Database, actor: AnyActor, block_id: int) -> None:
    """Lift a block: the sender's later mail makes cases again (what was set aside stays there)."""
    require(actor, "sender.unblock")
    async with db.transaction(actor.org_id) as tx:
        if not await tx.fetchval("DELETE FROM blocked_senders WHERE org_id = $1 AND id = $2 RETURNING 1",
                                 actor.org_id, block_id):
            raise NotFound()
        await tx.emit("sender.unblocked", block_id=block_id, actor_id=actor.user_id)


async def blocked_list(db: Database, org_id: int) -> list:
    return await db.read(org_id, BLOCKED, org_id)


async def is_blocked(tx: Tx, address: str) -> bool:
    """Whether mail from this address is blocked, by its address or its domain."""
    address = address.strip().lower()
    return bool(await tx.fetchval("SELECT 1 FROM blocked_senders WHERE org_id = $1 AND pattern IN ($2, $3)",
                                  tx.org_id, address, domain_of(address)))
