"""Real PostgreSQL, Redis and the app over real HTTP, started once per test session.

The servers live in a temporary directory on free ports, never the ones `make run` keeps
under var/, so the tests and a running demo never collide. Each test makes an organisation
of its own (tests/factories.py).
"""
from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
import uvicorn

from app.config import Settings
from app.db import Database, migrate
from app.main import create_app
from devtools.services import PostgresServer, RedisServer, bootstrap_database, free_port


@pytest.fixture(scope="session")
def servers():
    root = Path(tempfile.mkdtemp(prefix="samsyn-test-"))
    pg, redis = PostgresServer(root, free_port()), RedisServer(root, free_port())
    try:
        pg.start()
        redis.start()
        yield pg, redis
    finally:
        redis.stop()
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
async def settings(servers) -> Settings:
    pg, redis = servers
    await bootstrap_database(f"postgresql://postgres@127.0.0.1:{pg.port}/postgres", "samsyn", "samsyn", "samsyn_app")
    web_port = free_port()
    settings = Settings(
        database_url=f"postgresql://samsyn_app@127.0.0.1:{pg.port}/samsyn",
        database_owner_url=f"postgresql://samsyn@127.0.0.1:{pg.port}/samsyn",
        redis_url=f"redis://127.0.0.1:{redis.port}/0",
        secret_key="test-secret-key-not-for-production",
        web_port=web_port,
        login_attempts=5,
        login_attempts_per_address=20,
        login_window_seconds=60,
    )
    await migrate(settings.database_owner_url, "samsyn_app")
    return settings


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
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=settings.web_port,
                            log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    yield settings.base_url
    server.should_exit = True
    await task


@pytest.fixture
async def client(server):
    async with httpx.AsyncClient(base_url=server, follow_redirects=False, timeout=10) as c:
        yield c


@pytest.fixture(scope="session")
async def demo_org(db) -> int:
    """The demo organisation, seeded once per test session as `make run` seeds it."""
    from app import demo

    await demo.seed(db)
    async with db.transaction(None, readonly=True) as tx:
        user_id = await tx.fetchval("SELECT id FROM users WHERE email = $1", demo.DEMO_USERS[0][2])
        return (await tx.fetchrow("SELECT org_id FROM user_organizations($1)", user_id))["org_id"]
