"""Tags and tag groups ("Område" with "Medlemskap", "Faktura"): admins keep the list, editors tag cases."""
from __future__ import annotations

import asyncpg

from app.actors import AnyActor, require
from app.db import Database, Tx
from app.errors import Invalid, NotFound
from app.i18n import N_
from app.text import clean_name

MAX_NAME = 100  # the tables' CHECKs say the same

TAGS = """
SELECT t.id, t.name, t.group_id, g.name AS group_name
FROM tags t LEFT JOIN tag_groups g ON g.org_id = t.org_id AND g.id = t.group_id
WHERE t.org_id = $1
ORDER BY g.name NULLS LAST, lower(t.name), t.id
"""


async def tag_list(db: Database, org_id: int) -> list:
    """Every tag with its group, grouped and sorted as the pages show them."""
    return await db.read(org_id, TAGS, org_id)


async def catalogue(db: Database, org_id: int) -> list[dict]:
    """Every tag group with its tags, then the tags without a group (id None), as the tags page shows them."""
    async with db.transaction(org_id, readonly=True) as tx:
        groups = await tx.fetch("SELECT id, name FROM tag_groups WHERE org_id = $1 ORDER BY lower(name), id", org_id)
        all_tags = await tx.fetch(TAGS, org_id)
    listed = [{"id": g["id"], "name": g["name"], "tags": [t for t in all_tags if t["group_id"] == g["id"]]}
              for g in groups]
    return [*listed, {"id": None, "name": None, "tags": [t for t in all_tags if t["group_id"] is None]}]


async def create_group(db: Database, actor: AnyActor, name: str) -> int:
    require(actor, "tag.manage")
    name = clean_name(name, "name", MAX_NAME)
    try:
        async with db.transaction(actor.org_id) as tx:
            group_id = await tx.fetchval("INSERT INTO tag_groups (org_id, name) VALUES ($1, $2) RETURNING id",
                                         actor.org_id, name)
            await tx.emit("tag.group_created", group_id=group_id, actor_id=actor.user_id)
    except asyncpg.UniqueViolationError:
        raise Invalid(N_("That name is already in use."), "name") from None
    return group_id


async def create_tag(db: Database, actor: AnyActor, name: str, group_id: int | None = None) -> int:
    require(actor, "tag.manage")
    name = clean_name(name, "name", MAX_NAME)
    try:
        async with db.transaction(actor.org_id) as tx:
            if group_id is not None and not await tx.fetchval(
                    "SELECT 1 FROM tag_groups WHERE org_id = $1 AND id = $2", actor.org_id, group_id):
                raise NotFound()
            tag_id = await tx.fetchval("INSERT INTO tags (org_id, group_id, name) VALUES ($1, $2, $3) RETURNING id",
                                       actor.org_id, group_id, name)
            await tx.emit("tag.created", tag_id=tag_id, actor_id=actor.user_id)
    except asyncpg.UniqueViolationError:
        raise Invalid(N_("That name is already in use."), "name") from None
    return tag_id


async def tag(db: Database, actor: AnyActor, conversation_id: int, tag_id: int) -> None:
    """Put a tag on a case (nothing happens when it is there already)."""
    async with db.transaction(actor.org_id) as tx:
        await tag_in(tx, actor, conversation_id, tag_id)


async def tag_in(tx: Tx, actor: AnyActor, conversation_id: int, tag_id: int) -> bool:
    """`tag` inside the caller's transaction; whether the tag was new on the case."""
    require(actor, "conversation.tag")
    if not await tx.fetchval("SELECT 1 FROM conversations WHERE org_id = $1 AND id = $2",
                             actor.org_id, conversation_id):
        raise NotFound()
    if not await tx.fetchval("SELECT 1 FROM tags WHERE org_id = $1 AND id = $2", actor.org_id, tag_id):
        raise NotFound()
    if not await tx.fetchval(
            """INSERT INTO conversation_tags (org_id, conversation_id, tag_id) VALUES ($1, $2, $3)
               ON CONFLICT DO NOTHING RETURNING 1""", actor.org_id, conversation_id, tag_id):
        return False
    await tx.emit("conversation.tagged", conversation_id=conversation_id, tag_id=tag_id, actor_id=actor.user_id)
    return True


async def untag(db: Database, actor: AnyActor, conversation_id: int, tag_id: int) -> None:
    require(actor, "conversation.tag")
    async with db.transaction(actor.org_id) as tx:
        if not await tx.fetchval("SELECT 1 FROM conversations WHERE org_id = $1 AND id = $2",
                                 actor.org_id, conversation_id):
            raise NotFound()
        if await tx.fetchval(
                """DELETE FROM conversation_tags WHERE org_id = $1 AND conversation_id = $2 AND tag_id = $3
                   RETURNING 1""", actor.org_id, conversation_id, tag_id):
            await tx.emit("conversation.untagged", conversation_id=conversation_id, tag_id=tag_id,
                          actor_id=actor.user_id)
