"""The one write path: migrations, row-level security, gap-free seqs, publish after commit."""
from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest

from app import accounts, channels, conversations
from app.actors import System
from app.db import Database, RolledBack, events_after, events_channel, last_seq, migrate, migration_files
from app.events import UnknownEvent
from tests.factories import make_channel, make_conversation, make_member, make_org


async def test_applying_migrations_twice_changes_nothing(settings):
    conn = await asyncpg.connect(settings.database_owner_url)
    try:
        before = await conn.fetch("SELECT version, checksum, applied_at FROM schema_migrations ORDER BY version")
        schema = await conn.fetchval("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public'")
        assert await migrate(settings.database_owner_url, "samsyn_app") == []
        assert await conn.fetch("SELECT version, checksum, applied_at FROM schema_migrations ORDER BY version") == before
        assert await conn.fetchval(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public'") == schema
    finally:
        await conn.close()
    assert [v for v, _ in migration_files()] == [r["version"] for r in before]


async def test_app_role_owns_no_table(settings):
    conn = await asyncpg.connect(settings.database_url)
    try:
        owned = await conn.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user")
        assert owned == 0
    finally:
        await conn.close()


async def test_query_that_forgets_its_org_filter_still_sees_only_its_organisation(db):
    a, b = await make_org(db, "A AB"), await make_org(db, "B AB")
    for admin in (a, b):
        await make_conversation(db, admin.actor.org_id, await make_channel(db, admin), subject=f"från {admin.actor.org_id}")
    async with db.transaction(a.actor.org_id, readonly=True) as tx:
        # deliberately no WHERE org_id = …
        org_ids = {r["org_id"] for r in await tx.fetch("SELECT org_id FROM conversations")}
        member_orgs = {r["org_id"] for r in await tx.fetch("SELECT org_id FROM memberships")}
        event_orgs = {r["org_id"] for r in await tx.fetch("SELECT org_id FROM events")}
        orgs = {r["id"] for r in await tx.fetch("SELECT id FROM organizations")}
    assert org_ids == member_orgs == event_orgs == orgs == {a.actor.org_id}


async def test_without_an_organisation_set_tenant_tables_look_empty(db):
    admin = await make_org(db)
    await make_conversation(db, admin.actor.org_id, await make_channel(db, admin))
    async with db.transaction(None, readonly=True) as tx:
        for table in ("conversations", "messages", "channels", "customers", "memberships", "events", "organizations"):
            assert await tx.fetchval(f"SELECT count(*) FROM {table}") == 0, table


async def test_a_row_cannot_be_written_into_another_organisation(db):
    a, b = await make_org(db), await make_org(db)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with db.transaction(a.actor.org_id) as tx:
            await tx.execute(
                "INSERT INTO customers (org_id, name) VALUES ($1, 'Intrång')", b.actor.org_id)


async def test_seq_is_gap_free_under_concurrent_writers(db):
    admin = await make_org(db)
    channel = await make_channel(db, admin)
    start = (await events_after(db, admin.actor.org_id, 0))[-1]["seq"]
    await asyncio.gather(*(make_conversation(db, admin.actor.org_id, channel, subject=f"nr {i}") for i in range(40)))
    seqs = [e["seq"] for e in await events_after(db, admin.actor.org_id, start)]
    assert seqs == list(range(start + 1, start + 1 + 40 * 2))  # conversation.created + message.added each
    numbers = sorted(r["case_number"] for r in await conversations.queue(db, admin.actor.org_id))
    assert numbers == list(range(1, 41)), "case numbers are per organisation and gap-free too"


async def test_event_is_published_only_after_commit_and_never_for_a_rollback(db, redis_client):
    admin = await make_org(db)
    org_id = admin.actor.org_id
    pubsub = redis_client.pubsub()
    await pubsub.subscribe(events_channel(org_id))
    await pubsub.get_message(timeout=1)  # subscribe confirmation

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback):
        async with db.transaction(org_id) as tx:
            await tx.emit("member.away_changed", user_id=admin.actor.user_id, away=True, actor_id=admin.actor.user_id)
            raise Rollback()
    assert await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.3) is None

    async with db.transaction(org_id) as tx:
        seq = await tx.emit("member.away_changed", user_id=admin.actor.user_id, away=True,
                            actor_id=admin.actor.user_id)
        # inside the transaction: nothing published yet
        assert await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.3) is None
    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2)
    assert json.loads(message["data"]) == {"org_id": org_id, "seq": seq, "kind": "member.away_changed", "payload": {
        "user_id": admin.actor.user_id, "away": True, "actor_id": admin.actor.user_id}}
    # the rolled-back event left no gap
    assert [e["seq"] for e in await events_after(db, org_id, seq - 1)] == [seq]
    await pubsub.aclose()


async def test_commit_survives_redis_being_unreachable(db, settings):
    import redis.asyncio as aioredis
    from app.db import Database

    dead = aioredis.from_url("redis://127.0.0.1:1/0", socket_timeout=0.2, socket_connect_timeout=0.2)
    offline = Database(db.pool, dead)
    admin = await make_org(offline)
    editor = await make_member(offline, admin.actor.org_id, "editor")
    await accounts.set_role(offline, admin.actor, editor.actor.user_id, "viewer")
    assert (await accounts.member(db, admin.actor.org_id, editor.actor.user_id))["role"] == "viewer"


async def test_unknown_event_kind_is_refused(db):
    admin = await make_org(db)
    with pytest.raises(UnknownEvent):
        async with db.transaction(admin.actor.org_id) as tx:
            await tx.emit("conversation.teleported", conversation_id=1)


async def test_needs_reply_follows_the_latest_public_message(db):
    admin = await make_org(db)
    org_id = admin.actor.org_id
    conv = await make_conversation(db, org_id, await make_channel(db, admin))

    async def needs_reply() -> bool:
        row, _ = await conversations.get(db, org_id, conv)
        return row["needs_reply"]

    assert await needs_reply()
    mail = System(org_id, "smtp")
    await conversations.add_message(db, admin.actor, conv, kind="note", body="Kollar med lagret")
    assert await needs_reply(), "an internal note is no reply"
    await conversations.add_message(db, admin.actor, conv, kind="editor", body="Hej! Paketet kommer i morgon.")
    assert not await needs_reply()
    await conversations.add_message(db, mail, conv, kind="customer", body="Tack, det löste sig!")
    assert await needs_reply()
    await conversations.mark_no_reply_needed(db, admin.actor, conv)
    assert not await needs_reply()
    await conversations.add_message(db, mail, conv, kind="customer", body="Förresten, en sak till…")
    assert await needs_reply(), "a new customer message clears the mark"


async def test_events_of_one_transaction_are_published_in_seq_order(db, redis_client):
    admin = await make_org(db)
    channel = await make_channel(db, admin)
    pubsub = redis_client.pubsub()
    await pubsub.subscribe(events_channel(admin.actor.org_id))
    await pubsub.get_message(timeout=1)
    await make_conversation(db, admin.actor.org_id, channel)
    received = [json.loads((await pubsub.get_message(ignore_subscribe_messages=True, timeout=2))["data"])
                for _ in range(2)]
    assert [e["kind"] for e in received] == ["conversation.created", "message.added"]
    assert received[1]["seq"] == received[0]["seq"] + 1
    await pubsub.aclose()


async def test_a_failed_statement_caught_inside_the_block_publishes_nothing_and_leaves_no_gap(db, redis_client):
    admin = await make_org(db)
    org_id = admin.actor.org_id
    pubsub = redis_client.pubsub()
    await pubsub.subscribe(events_channel(org_id))
    await pubsub.get_message(timeout=1)
    seq = await last_seq(db, org_id)
    with pytest.raises(RolledBack):
        async with db.transaction(org_id) as tx:
            await tx.emit("member.away_changed", user_id=admin.actor.user_id, away=True, actor_id=admin.actor.user_id)
            try:  # a CHECK violation, swallowed: PostgreSQL turns the COMMIT into a ROLLBACK
                await tx.execute("INSERT INTO channels (org_id, kind, name, colour, address) "
                                 "VALUES ($1, 'teleport', 'x', 'blue', 'xx')", org_id)
            except asyncpg.CheckViolationError:
                pass
    assert await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.3) is None, "a phantom was published"
    assert await last_seq(db, org_id) == seq
    await accounts.set_away(db, admin.actor, admin.actor.user_id, True)
    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2)
    assert json.loads(message["data"])["seq"] == seq + 1
    await pubsub.aclose()


async def test_a_subscriber_that_reads_on_the_doorbell_finds_the_change_committed(db, settings):
    """Publishing before COMMIT would let a web process render rows that are not there yet."""
    admin = await make_org(db)
    org_id = admin.actor.org_id
    seen = []

    class Watching(Database):
        async def publish(self, events):
            # what a subscriber on another connection reads at the moment the doorbell rings
            conn = await asyncpg.connect(settings.database_owner_url)
            try:
                seen.extend(await conn.fetch("SELECT seq, kind FROM events WHERE org_id = $1 AND seq = ANY($2)",
                                             org_id, [e["seq"] for e in events]))
            finally:
                await conn.close()
            await super().publish(events)

    watched = Watching(db.pool, db.redis)
    await accounts.set_away(watched, admin.actor, admin.actor.user_id, True)
    await make_conversation(watched, org_id, await make_channel(watched, admin))
    assert [r["kind"] for r in seen] == ["member.away_changed", "channel.created", "conversation.created",
                                         "message.added"]


async def test_the_event_log_is_append_only_for_the_app(db):
    admin = await make_org(db)
    org_id = admin.actor.org_id
    for statement in ("UPDATE events SET kind = 'x' WHERE org_id = $1", "DELETE FROM events WHERE org_id = $1"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with db.transaction(org_id) as tx:
                await tx.execute(statement, org_id)


async def test_a_change_to_shown_rows_without_an_event_is_caught(db):
    """The conftest guard that finds any domain function changing such rows without an event."""
    admin = await make_org(db)
    channel = await make_channel(db, admin)
    with pytest.raises(AssertionError, match="channels"):
        async with db.transaction(admin.actor.org_id) as tx:
            await tx.execute("UPDATE channels SET name = 'Tyst' WHERE org_id = $1 AND id = $2",
                             admin.actor.org_id, channel)
    assert (await channels.get_channel(db, admin.actor.org_id, channel))["name"] == "Support"


async def test_security_definer_functions_search_pg_temp_last(settings):
    conn = await asyncpg.connect(settings.database_owner_url)
    try:
        rows = await conn.fetch("""SELECT p.proname, p.proconfig FROM pg_proc p
                                   JOIN pg_namespace n ON n.oid = p.pronamespace
                                   WHERE n.nspname = 'public' AND p.prosecdef""")
    finally:
        await conn.close()
    assert rows
    for r in rows:
        assert "search_path=pg_catalog, public, pg_temp" in (r["proconfig"] or []), r["proname"]


async def test_a_message_author_must_be_a_member_of_its_organisation(db):
    ours, theirs = await make_org(db), await make_org(db)
    conv = await make_conversation(db, ours.actor.org_id, await make_channel(db, ours))
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        async with db.transaction(ours.actor.org_id) as tx:
            await tx.execute(
                "INSERT INTO messages (org_id, conversation_id, kind, author_id, body_text) "
                "VALUES ($1, $2, 'editor', $3, 'från fel organisation')",
                ours.actor.org_id, conv, theirs.actor.user_id)
