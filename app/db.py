"""PostgreSQL access: the pool, the one transaction helper, and the migration runner.

Every query runs inside `Database.transaction(org_id)`. It sets `app.org_id` for the
transaction (row-level security compares it with each row's org_id), collects the events the
change appends, and publishes them on Redis only after COMMIT.
"""
from __future__ import annotations

import hashlib
import json
import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, AsyncIterator
from urllib.parse import urlsplit

import asyncpg
import redis.asyncio as aioredis

from app import events as event_catalogue
from app.config import Settings, redact
from app.errors import NotFound

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 7_424_242  # pg_advisory_lock key: one migrator at a time

APPEND_EVENT = """
WITH next AS (
    UPDATE organizations SET last_event_seq = last_event_seq + 1
    WHERE id = $1 RETURNING last_event_seq
)
INSERT INTO events (org_id, seq, kind, payload, created_at)
SELECT $1, last_event_seq, $2, $3, COALESCE($4, now()) FROM next
RETURNING seq
"""


# What the app role may do: read and write rows under row-level security, less on these few.
APP_GRANTS = """
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};
REVOKE INSERT, UPDATE, DELETE ON schema_migrations FROM {role};
-- the event log is append-only
REVOKE UPDATE, DELETE ON events FROM {role};
-- sessions only through the session_* functions; people come from create_account()
REVOKE ALL ON sessions FROM {role};
REVOKE INSERT, DELETE ON users FROM {role};
"""


class RolledBack(RuntimeError):
    """COMMIT found the transaction failed (an error inside it was caught): nothing was saved."""


async def _rollback(conn: asyncpg.Connection) -> None:
    try:
        await conn.execute("ROLLBACK")
    except Exception:  # noqa: BLE001 - a broken connection: the pool's reset discards it anyway
        log.debug("rollback failed", exc_info=True)


class StartupError(RuntimeError):
    """A dependency the app cannot run without is unreachable; the message says which setting."""


def events_channel(org_id: int) -> str:
    """The Redis channel that carries an organisation's committed events."""
    return f"samsyn:org:{org_id}:events"


# Sessions that ended or moved to another organisation: every web process closes their sockets at once.
SESSIONS_CHANNEL = "samsyn:sessions"


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _reset_connection(conn: asyncpg.Connection) -> None:
    # Instead of asyncpg's reset (unlock all, close all, unlisten, reset all: a round trip per
    # transaction): the app keeps no session state. Its settings are SET LOCAL / set_config(..., true),
    # its advisory locks transaction-level, and it neither listens nor keeps cursors.
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


@dataclass
class Tx:
    """One open transaction, scoped to one organisation (or none, for the few global lookups)."""

    conn: asyncpg.Connection
    org_id: int | None
    published: list[dict] = field(default_factory=list)

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return await self.conn.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        return await self.conn.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self.conn.fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any) -> str:
        return await self.conn.execute(sql, *args)

    async def emit(self, kind: str, /, at: datetime | None = None, **payload: Any) -> int:
        """Append an event with the organisation's next seq; it is published after commit. `at` dates a change
        that happened earlier (imported or seeded history), as messages take `at`; the seq is still the next."""
        if self.org_id is None:
            raise RuntimeError("events belong to an organisation: open the transaction with org_id")
        event_catalogue.check(kind, payload)
        seq = await self.conn.fetchval(APPEND_EVENT, self.org_id, kind, payload, at)
        self.published.append({"org_id": self.org_id, "seq": seq, "kind": kind, "payload": payload})
        return seq


class Database:
    def __init__(self, pool: asyncpg.Pool, redis: aioredis.Redis | None):
        self.pool = pool
        self.redis = redis

    @classmethod
    async def connect(cls, settings: Settings, redis: aioredis.Redis | None) -> "Database":
        try:
            pool = await asyncpg.create_pool(
                settings.database_url, min_size=1, max_size=settings.db_pool_max,
                init=_init_connection, reset=_reset_connection, timeout=5,
            )
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            raise StartupError(
                f"cannot reach PostgreSQL at DATABASE_URL={redact(settings.database_url)}: {exc}. "
                "Start it (make run does) or set DATABASE_URL."
            ) from exc
        return cls(pool, redis)

    async def close(self) -> None:
        await self.pool.close()

    @asynccontextmanager
    async def transaction(self, org_id: int | None, *, user_id: int | None = None,
                          readonly: bool = False) -> AsyncIterator[Tx]:
        """One transaction in an organisation's scope (and a person's own, for their account row)."""
        async with self.pool.acquire() as conn:
            # BEGIN and COMMIT by hand: asyncpg's transaction() ignores that PostgreSQL answers a
            # COMMIT of a failed transaction with ROLLBACK, and its events would go out as phantoms.
            # One round trip for BEGIN and the scope; the ids are integers, so the literals are safe.
            scope = "" if org_id is None and user_id is None else (
                f"; SELECT set_config('app.org_id', '{'' if org_id is None else int(org_id)}', true), "
                f"set_config('app.user_id', '{'' if user_id is None else int(user_id)}', true)")
            await conn.execute(("BEGIN READ ONLY" if readonly else "BEGIN") + scope)
            try:
                tx = Tx(conn, org_id)
                yield tx
            except BaseException:
                await _rollback(conn)
                raise
            if await conn.execute("COMMIT") != "COMMIT":
                raise RolledBack("a statement in the transaction failed, so PostgreSQL rolled it back")
        # Only here has the transaction committed.
        if tx.published:
            await self.publish(tx.published)

    async def read(self, org_id: int | None, sql: str, *args: Any) -> list[asyncpg.Record]:
        """Rows from one read-only query in the organisation's scope."""
        async with self.transaction(org_id, readonly=True) as tx:
            return await tx.fetch(sql, *args)

    async def read_one(self, org_id: int | None, sql: str, *args: Any) -> asyncpg.Record:
        """The one row a query finds in the organisation's scope, else NotFound."""
        async with self.transaction(org_id, readonly=True) as tx:
            row = await tx.fetchrow(sql, *args)
        if row is None:
            raise NotFound()
        return row

    async def sessions_changed(self, **which: Any) -> None:
        """After commit: tell the web processes that sessions ended or changed (`session`: one, by its id;
        `user_id`: all of a person's), so their sockets close now; each heartbeat would find out later anyway."""
        if self.redis is None:
            return
        try:
            await self.redis.publish(SESSIONS_CHANNEL, json.dumps(which))
        except Exception as exc:  # noqa: BLE001 - the heartbeat closes them within one beat
            log.warning("sessions change not told", extra={"error": repr(exc)})

    async def publish(self, events: list[dict]) -> None:
        """Ring the doorbell for committed events: {org_id, seq, kind, payload} on the organisation's channel
        (the payload spares the web processes a read of each event; what they miss they read)."""
        # A lost publish is recovered by the clients' seq check, so a Redis fault must never
        # fail a change that has already committed.
        if self.redis is None:
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for event in events:
                    pipe.publish(events_channel(event["org_id"]), json.dumps(event))
                await pipe.execute()
        except Exception as exc:  # noqa: BLE001 - any Redis fault, logged and survived
            log.warning("event publish failed", extra={"events": events, "error": repr(exc)})


# --- migrations ---------------------------------------------------------------------------


def migration_files() -> list[tuple[str, Path]]:
    files = sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql"))
    return [(p.name.split("_", 1)[0], p) for p in files]


async def migrate(owner_url: str, app_role: str) -> list[str]:
    """Apply pending migrations in order as the tables' owner; returns the versions applied."""
    conn = await asyncpg.connect(owner_url)
    applied_now: list[str] = []
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version text PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {r["version"]: r for r in await conn.fetch("SELECT version, name, checksum FROM schema_migrations")}
        for version, path in migration_files():
            sql = path.read_text()
            checksum = hashlib.sha256(sql.encode()).hexdigest()
            if version in done:
                if done[version]["checksum"] != checksum:
                    raise RuntimeError(f"migration {path.name} changed after it was applied; add a new one instead")
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    version, path.name, checksum,
                )
            applied_now.append(version)
        # The app's role reads and writes rows but owns nothing, so row-level security binds it.
        role = '"' + app_role.replace('"', '""') + '"'
        await conn.execute(APP_GRANTS.format(role=role))
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
        await conn.close()
    return applied_now


def role_of(url: str) -> str:
    return urlsplit(url).username or "postgres"


async def events_after(db: Database, org_id: int, seq: int, limit: int = 1000) -> list[dict]:
    """Committed events of an organisation after `seq`, oldest first (replay reads these)."""
    rows = await db.read(
        org_id, "SELECT org_id, seq, kind, payload FROM events WHERE org_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        org_id, seq, limit,
    )
    return [dict(r) for r in rows]


async def last_seq(db: Database, org_id: int) -> int:
    async with db.transaction(org_id, readonly=True) as tx:
        return await tx.fetchval("SELECT last_event_seq FROM organizations WHERE id = $1", org_id)
