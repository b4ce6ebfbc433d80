"""Login limits: a 429 per e-mail and address and per address, only a slow-down per account, counted first."""
from __future__ import annotations

import asyncio
import random
import uuid

import httpx
import pytest
import redis.asyncio as aioredis

from app import ratelimit
from app.main import create_app
from tests.factories import PASSWORD, csrf_from, make_org, unique_email


def new_address() -> str:
    """A client address no other test uses (documentation range), so its counters start at zero."""
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"


@pytest.fixture
def app(settings, db, redis_client):
    """The app in-process, so each client can come from an address of its own."""
    app = create_app(settings)
    app.state.db, app.state.redis = db, redis_client
    return app


def client_from(app, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 1234)),
                             base_url="http://samsyn.test")


async def try_login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    token = csrf_from((await client.get("/login")).text)
    return await client.post("/login", data={"email": email, "password": password, "csrf_token": token})


@pytest.fixture
def decided_delays(monkeypatch) -> list[float]:
    """Every slow-down the login handler decides, in order."""
    delays, backoff = [], ratelimit.backoff

    def spy(count: int, after: int, cap: float) -> float:
        delays.append(backoff(count, after, cap))
        return delays[-1]

    monkeypatch.setattr(ratelimit, "backoff", spy)
    return delays


async def test_simultaneous_wrong_passwords_get_exactly_the_limit_of_400s_then_429(db, server, settings):
    admin = await make_org(db)
    # Real HTTP from a loopback address of this test's own (any 127.x.y.z is this machine on Linux).
    loopback = "127.{}.{}.{}".format(*(random.randrange(1, 255) for _ in range(3)))
    transport = httpx.AsyncHTTPTransport(local_address=loopback)
    async with httpx.AsyncClient(base_url=server, transport=transport, timeout=30) as client:
        token = csrf_from((await client.get("/login")).text)
        responses = await asyncio.gather(*(
            client.post("/login", data={"email": admin.email, "password": f"wrong guess {i}", "csrf_token": token})
            for i in range(30)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [400] * settings.login_attempts + [429] * (30 - settings.login_attempts)


async def test_failed_logins_per_email_and_address_turn_to_429_with_retry_after(db, app, settings):
    admin = await make_org(db)
    async with client_from(app, new_address()) as client:
        responses = [await try_login(client, admin.email, "wrong password") for _ in range(settings.login_attempts + 1)]
        assert [r.status_code for r in responses] == [400] * settings.login_attempts + [429]
        assert 0 < int(responses[-1].headers["retry-after"]) <= settings.login_window_seconds
        # from that address even the right password waits now
        assert (await try_login(client, admin.email, PASSWORD)).status_code == 429


async def test_a_stranger_failing_from_one_address_does_not_lock_the_owner_out(db, app, settings):
    admin = await make_org(db)
    async with client_from(app, new_address()) as stranger, client_from(app, new_address()) as owner:
        statuses = [(await try_login(stranger, admin.email, "a wrong guess")).status_code
                    for _ in range(settings.login_attempts + 5)]
        assert statuses == [400] * settings.login_attempts + [429] * 5
        assert (await try_login(owner, admin.email, PASSWORD)).status_code == 303


async def test_failed_logins_from_one_address_are_limited_across_accounts(db, app, settings):
    admin = await make_org(db)
    async with client_from(app, new_address()) as client:
        for _ in range(settings.login_attempts_per_address):
            assert (await try_login(client, unique_email(), "guess guess")).status_code == 400
        assert (await try_login(client, admin.email, PASSWORD)).status_code == 429
    async with client_from(app, new_address()) as elsewhere:
        assert (await try_login(elsewhere, admin.email, PASSWORD)).status_code == 303


def test_the_slow_down_doubles_past_the_threshold_up_to_the_cap():
    assert [ratelimit.backoff(n, 3, 2.0) for n in range(1, 9)] == [0, 0, 0, 0.25, 0.5, 1.0, 2.0, 2.0]


async def test_past_the_threshold_an_account_slows_down_yet_the_owner_gets_in(db, app, settings, decided_delays):
    admin = await make_org(db)
    after, cap = settings.login_slowdown_after, settings.login_slowdown_max_seconds
    for _ in range(3):  # guesses from several addresses, each below its own limit
        async with client_from(app, new_address()) as guesser:
            for _ in range(2):
                assert (await try_login(guesser, admin.email, "a wrong guess")).status_code == 400
    async with client_from(app, new_address()) as owner:
        assert (await try_login(owner, admin.email, PASSWORD)).status_code == 303
    assert len(decided_delays) == 7 > after
    assert decided_delays[:after] == [0] * after
    assert 0 < decided_delays[after] < decided_delays[-1] == cap  # the owner waited, at most the cap


async def test_successful_logins_are_not_throttled(db, app, settings, decided_delays):
    admin = await make_org(db)
    async with client_from(app, new_address()) as client:
        for _ in range(settings.login_attempts_per_address + 1):
            client.cookies.clear()
            assert (await try_login(client, admin.email, PASSWORD)).status_code == 303
    assert decided_delays == [0] * (settings.login_attempts_per_address + 1)


async def test_logins_go_through_when_redis_is_down(db, settings):
    app = create_app(settings)
    dead = aioredis.from_url("redis://127.0.0.1:1/0", socket_timeout=0.2, socket_connect_timeout=0.2)
    app.state.db, app.state.redis = db, dead
    admin = await make_org(db)
    try:
        async with client_from(app, new_address()) as client:
            assert (await try_login(client, admin.email, "wrong password")).status_code == 400
            assert (await try_login(client, admin.email, PASSWORD)).status_code == 303
    finally:
        await dead.aclose()
