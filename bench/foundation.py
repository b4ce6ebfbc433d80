"""Foundation numbers: the write path's event rate, dashboard render time, login cost.

    .venv/bin/python -m bench.foundation [--writers 1,4,16] [--seconds 5] [--requests 300]

Starts its own PostgreSQL and Redis in a temporary directory (like the tests), seeds the demo
organisation, then measures. Loopback only; every loop is bounded by count and time.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx
import redis.asyncio as aioredis

from app import accounts, demo
from app.db import Database
from app.main import create_app
from app.serve import uvicorn_config
from devtools.services import migrated_settings, start_server, throwaway_servers


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


async def event_rate(db: Database, org_ids: list[int], writers: int, seconds: float) -> tuple[int, float]:
    """Committed changes per second with `writers` concurrent writers spread over `org_ids`."""
    user_ids = {}
    for org_id in org_ids:
        rows = await accounts.members(db, org_id)
        user_ids[org_id] = rows[0]["id"]
    deadline = time.perf_counter() + seconds
    done = 0

    async def writer(i: int) -> None:
        nonlocal done
        org_id = org_ids[i % len(org_ids)]
        away = False
        while time.perf_counter() < deadline:
            async with db.transaction(org_id) as tx:
                away = not away
                await tx.execute("UPDATE memberships SET away = $3 WHERE org_id = $1 AND user_id = $2",
                                 org_id, user_ids[org_id], away)
                await tx.emit("member.away_changed", user_id=user_ids[org_id], away=away, actor_id=user_ids[org_id])
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(writer(i) for i in range(writers)))
    return done, done / (time.perf_counter() - started)


async def healthz_during_login_burst(client: httpx.AsyncClient, token: str, anonymous: str,
                                     burst: int) -> tuple[list[float], int]:
    """/healthz latencies (ms), and how many said 503, while `burst` wrong passwords are checked at once."""
    # clients made beforehand: making one loads TLS certificates, which would stall this loop too
    clients = [httpx.AsyncClient(base_url=client.base_url, cookies={"samsyn_csrf": anonymous}) for _ in range(burst)]
    latencies: list[float] = []
    unhealthy = 0
    logins = asyncio.gather(*(c.post("/login", data={"email": f"nobody{i}@bench.samsyn.se",
                                                     "password": "wrong password", "csrf_token": token})
                              for i, c in enumerate(clients)))
    while not logins.done():
        t = time.perf_counter()
        unhealthy += (await client.get("/healthz")).status_code != 200  # 503: a check timed out
        latencies.append((time.perf_counter() - t) * 1000)
        await asyncio.sleep(0.01)
    await logins
    for c in clients:
        await c.aclose()
    return latencies, unhealthy


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writers", default="1,4,16")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()

    with throwaway_servers("samsyn-bench-") as servers:
        settings = await migrated_settings(*servers, secret_key="bench", db_pool_max=20,
                                           login_attempts=10**6, login_attempts_per_address=10**6)
        redis = aioredis.from_url(settings.redis_url)
        db = await Database.connect(settings, redis)

        started = time.perf_counter()
        await demo.seed(db)
        print(f"seed demo organisation (300 conversations, through the write path): {time.perf_counter() - started:.1f} s")

        demo_org = (await accounts.organizations_of(db, (await accounts.authenticate(
            db, demo.DEMO_USERS[0][2], demo.DEMO_PASSWORD))))[0][0]
        others = []
        for i in range(15):
            org_id = await accounts.create_organization(db, f"Bench {i}")
            user_id = await accounts.create_user(db, f"bench{i}@bench.samsyn.se", "Bench", "bench-password")
            await accounts.add_member(db, org_id, user_id, "admin")
            others.append(org_id)

        for writers in [int(w) for w in args.writers.split(",")]:
            n, rate = await event_rate(db, [demo_org], writers, args.seconds)
            seqs = await db.read(demo_org, "SELECT count(*) AS n, max(seq) AS top FROM events WHERE org_id = $1", demo_org)
            gaps = "gap-free" if seqs[0]["n"] == seqs[0]["top"] else f"GAPS: {seqs[0]['top'] - seqs[0]['n']}"
            print(f"write path, one organisation, {writers:>2} writers: {rate:7.0f} changes/s ({n} events, {gaps})")
            n, rate = await event_rate(db, [demo_org, *others], writers, args.seconds)
            print(f"write path, 16 organisations, {writers:>2} writers: {rate:7.0f} changes/s ({n} events)")

        stop = await start_server(uvicorn_config(create_app(settings), settings, log_level="warning"))
        async with httpx.AsyncClient(base_url=settings.base_url) as client:
            page = await client.get("/login")
            token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
            anonymous = client.cookies["samsyn_csrf"]
            logins = []
            for _ in range(20):
                client.cookies.clear()
                client.cookies.set("samsyn_csrf", anonymous)
                t = time.perf_counter()
                r = await client.post("/login", data={"email": demo.DEMO_USERS[0][2], "password": demo.DEMO_PASSWORD,
                                                      "csrf_token": token})
                logins.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 303
            print(f"login (argon2 verify + session): p50 {pct(logins, .5):.1f} ms, p95 {pct(logins, .95):.1f} ms")
            health, unhealthy = await healthz_during_login_burst(client, token, anonymous, burst=30)
            print(f"GET /healthz during 30 simultaneous wrong logins: p50 {pct(health, .5):.1f} ms, "
                  f"max {max(health):.1f} ms ({len(health)} probes, {unhealthy} answered 503)")
            rows = (await client.get("/")).text.count('class="queue-row')
            times = []
            for _ in range(args.requests):
                t = time.perf_counter()
                r = await client.get("/")
                times.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200
            print(f"dashboard GET / ({rows} open rows, sequential): p50 {pct(times, .5):.1f} ms, "
                  f"p95 {pct(times, .95):.1f} ms, mean {statistics.mean(times):.1f} ms")
        await stop()
        await db.close()
        await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main())
