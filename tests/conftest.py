"""Real PostgreSQL, Redis and the app over real HTTP, started once per test session.

The servers live in a temporary directory on free ports, never the ones `make run` keeps
under var/, so the tests and a running demo never collide. Each test makes an organisation
of its own (tests/factories.py).
"""
from __future__ import annotations

import asyncio

import httpx
import pytest
import redis.asyncio as aioredis
import uvicorn

from app.config import Settings
from app.db import Database
from app.main import create_app
from devtools.services import migrated_settings, throwaway_servers


@pytest.fixture(scope="session")
def servers():
    with throwaway_servers("samsyn-test-") as pg_and_redis:
        yield pg_and_redis


@pytest.fixture(scope="session")
async def settings(servers) -> Settings:
    return await migrated_settings(*servers, secret_key="test-secret-key-not-for-production",
                                   login_attempts=5, login_attempts_per_address=20, login_window_seconds=60)


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
