"""Real PostgreSQL, Redis and the app over real HTTP, started once per test session.

The servers live in a temporary directory on free ports, never the ones `make run` keeps
under var/, so the tests and a running demo never collide. Each test makes an organisation
of its own (tests/factories.py).
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses

import httpx
import pytest
import redis.asyncio as aioredis

from app.config import Settings
from app.db import Database
from app.main import create_app
from app.serve import uvicorn_config  # the web process's own options, proxy headers off
from devtools.services import free_port, migrated_settings, start_server, throwaway_servers


# Tables whose changes no page shows by themselves: the log itself, its counters, sessions,
# people (their names show through memberships, whose changes emit), a job's own state (what a
# page shows of it comes with its domain's events), and a stored mail until it is placed or set
# aside (both emit).
BOOKKEEPING = {"events", "organizations", "sessions", "users", "schema_migrations", "jobs", "raw_mails"}
# IMAP polling: each mailbox's poll schedule and last outcome change every poll; the (not live) channel
# settings page reads them when it loads, and an event per poll per minute would flood the log.
BOOKKEEPING |= {"imap_polls"}
# The reply composer (issue 7): a draft and its uploaded files show only to their writer, never pushed to
# anyone; file contents (blobs) show only through attachments, whose rows come with message.added.
BOOKKEEPING |= {"drafts", "draft_files", "blobs"}
# Forum moves (issue 8): a visitor's address and the threads they follow show on no page; what confirming
# releases (a moved thread's mail) comes with message.delivery_changed.
BOOKKEEPING |= {"visitor_addresses", "forum_subscriptions"}
# Rows changed per table. PostgreSQL 15 keeps earlier transactions' counts here until it flushes
# them (about once a second), so what one transaction changed is the difference from its start.
ROWS_CHANGED = """
SELECT relname, n_tup_ins + n_tup_upd + n_tup_del AS n FROM pg_stat_xact_user_tables WHERE schemaname = 'public'
"""


@pytest.fixture(scope="session", autouse=True)
def every_change_appends_an_event():
    """Fails any transaction, in any test, that changed rows some page shows without appending an event.

    Screens learn of changes only through events, so such a change would leave them stale.
    """
    original = Database.transaction

    @contextlib.asynccontextmanager
    async def checked(self, org_id, **options):
        async with original(self, org_id, **options) as tx:
            before = {} if options.get("readonly") else dict(await tx.fetch(ROWS_CHANGED))
            yield tx
            if not options.get("readonly") and not tx.published:
                silent = {t for t, n in await tx.fetch(ROWS_CHANGED) if n > before.get(t, 0)} - BOOKKEEPING
                assert not silent, f"changed {sorted(silent)} without appending an event"

    Database.transaction = checked
    yield
    Database.transaction = original


@pytest.fixture(scope="session")
def servers():
    with throwaway_servers("samsyn-test-") as pg_and_redis:
        yield pg_and_redis


@pytest.fixture(scope="session")
async def settings(servers) -> Settings:
    return await migrated_settings(*servers, secret_key="test-secret-key-not-for-production",
                                   login_attempts=5, login_attempts_per_address=20, login_window_seconds=60,
                                   login_slowdown_after=3, login_slowdown_max_seconds=0.5,
                                   mail_password_key=TEST_MAIL_PASSWORD_KEY)  # IMAP polling


@pytest.fixture(scope="session")
async def redis_client(settings):
    client = aioredis.from_url(settings.redis_url)
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
async def db(settings, redis_client):
    database = await Database.connect(settings, redis_client)
    yield database
    await database.close()


@pytest.fixture(scope="session")
async def server(settings):
    """The app under uvicorn on a free port: what a browser or HTTP client talks to."""
    stop = await start_server(uvicorn_config(create_app(settings), settings, log_level="warning"))
    yield settings.base_url
    await stop()


@pytest.fixture
async def client(server):
    async with httpx.AsyncClient(base_url=server, follow_redirects=False, timeout=10) as c:
        yield c


@pytest.fixture(scope="session")
async def demo_org(db) -> int:
    """The demo organisation, seeded once per test session as `make run` seeds it."""
    from app import demo

    from app import accounts

    await demo.seed(db)
    user_id = await accounts.account_id(db, demo.DEMO_USERS[0][2])
    return (await accounts.organizations_of(db, user_id))[0][0]


@pytest.fixture(scope="session")
async def smtp_port(db, settings):
    """The SMTP ingress as the smtp process runs it, on a free port of this test session."""
    from workers.smtp import smtp_factory

    server = await asyncio.get_running_loop().create_server(smtp_factory(db, settings), "127.0.0.1",
                                                            port := free_port())
    yield port
    server.close()


@pytest.fixture
async def mailbox(db, settings):
    """A mailbox of a new organisation, with its public and its ingress address."""
    from app import channels
    from tests.factories import make_channel, make_org

    admin = await make_org(db, "Postverket AB")
    channel_id = await make_channel(db, admin, "mailbox", name="info@")
    found = await channels.get_channel(db, admin.actor.org_id, channel_id)
    return Mailbox(admin, admin.actor.org_id, channel_id, found["address"],
                   f"{found['ingress_local_part']}@{settings.ingress_domain}")


@dataclasses.dataclass
class Mailbox:
    admin: object
    org_id: int
    id: int
    address: str
    ingress: str


# --- IMAP polling -------------------------------------------------------------------------------

# A Fernet key of the tests' own (32 bytes, url-safe base64); `make run` keeps its own under var/.
TEST_MAIL_PASSWORD_KEY = "c2Ftc3luLXRlc3RzLWtleS1ub3QtZm9yLXByb2QhISE="


@pytest.fixture(scope="session")
def dovecot(settings):
    """Debian's Dovecot on a free loopback port with a config of its own, for the IMAP poller to poll."""
    import shutil
    import tempfile
    from pathlib import Path

    from app.mail import imap
    from devtools.services import DovecotServer

    root = Path(tempfile.mkdtemp(prefix="samsyn-dovecot-"))
    server = DovecotServer(root, free_port())
    server.start()
    imap.configure(settings)  # as the worker process does at start
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)
