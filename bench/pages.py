"""Pages at volume: the dashboard and a conversation page at 10k, 100k and 1M conversations.

    .venv/bin/python -m bench.pages [--sizes 10000,100000,1000000] [--requests 100] [--check]

For each size: its own PostgreSQL and Redis in a temporary directory (like the tests), migrated,
one organisation filled by bench/volume.py, the app under uvicorn in this process (as
bench/foundation.py runs it), and a login as that organisation's admin. Then, sequentially:
GET / and GET /conversations/{id} (random ids) with p50/p95, the queue's rows and HTML size,
and EXPLAIN (ANALYZE, BUFFERS) of the dashboard's two queries, run as the app's role under
row-level security, so an index's effect shows as time and shared buffers.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import statistics
import time

import asyncpg
import httpx
import uvicorn

from app import channels, conversations, queues
from app.db import Database
from app.main import create_app
from bench import volume
from devtools.services import migrated_settings, throwaway_servers

QUEUE_LIMIT = 500  # what the dashboard asks conversations.queue() for

# Lookups on the foreign keys' columns: a customer's history, and what removing a member asks
# (asked for a member with no messages or conversations, the case where all must be looked at).
CUSTOMER_HISTORY = """
SELECT id, case_number, subject, status, created_at FROM conversations
WHERE org_id = $1 AND customer_id = $2 ORDER BY created_at DESC
"""
MEMBER_MESSAGES = "SELECT 1 FROM messages WHERE org_id = $1 AND author_id = $2 LIMIT 1"
MEMBER_CONVERSATIONS = "SELECT 1 FROM conversations WHERE org_id = $1 AND assignee_id = $2 LIMIT 1"
PICK_CUSTOMER = "SELECT customer_id FROM conversations WHERE org_id = $1 AND case_number = $2"
PICK_VIEWER = "SELECT user_id FROM memberships WHERE org_id = $1 AND role = 'viewer' ORDER BY user_id LIMIT 1"
# "mine" for the editor with the most open cases; the channel filter on the smallest channel
PICK_BUSIEST = """SELECT assignee_id FROM conversations WHERE org_id = $1 AND status = 'open' AND assignee_id IS NOT NULL
                  GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"""
PICK_SMALLEST = "SELECT id FROM channels WHERE org_id = $1 ORDER BY (SELECT count(*) FROM conversations v WHERE v.channel_id = channels.id) LIMIT 1"
# The dashboard's counts counted from the rows, as they would be without dashboard_counts (for comparison)
COUNTED_FROM_ROWS = """
SELECT b.bucket, b.key, count(*) FROM conversations v,
       dashboard_buckets(v.status, v.spam, v.needs_reply, v.assignee_id, v.follow_up_at, v.channel_id) b
WHERE v.org_id = $1 GROUP BY 1, 2
"""


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def _scans(plan: dict) -> list[str]:
    """The plan's scan nodes, e.g. 'Index Only Scan conversations_open_channel_idx x6'."""
    found = []
    if "Scan" in plan["Node Type"]:
        target = plan.get("Index Name") or plan.get("Relation Name", "")
        loops = plan.get("Actual Loops", 1)
        found.append(f"{plan['Node Type']} {target}" + (f" x{loops}" if loops > 1 else ""))
    for child in plan.get("Plans", []):
        found.extend(_scans(child))
    return found


async def explain(db: Database, org_id: int, sql: str, *args, runs: int = 5) -> dict:
    """EXPLAIN (ANALYZE, BUFFERS) as the app runs the query; the run with the median time of `runs`."""
    results = []
    for _ in range(runs):
        async with db.transaction(org_id, readonly=True) as tx:
            raw = await tx.fetchval("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, *args)
        top = (json.loads(raw) if isinstance(raw, str) else raw)[0]
        plan = top["Plan"]
        results.append({
            "ms": top["Execution Time"],
            "buffers": plan.get("Shared Hit Blocks", 0) + plan.get("Shared Read Blocks", 0),
            "read": plan.get("Shared Read Blocks", 0),
            "rows": plan.get("Actual Rows", 0),
            "scans": _scans(plan),
        })
    return sorted(results, key=lambda r: r["ms"])[runs // 2]


async def query_ms(db: Database, org_id: int, sql: str, *args, runs: int = 30) -> float:
    """The query's median time as the app runs it (in its own read-only transaction), without EXPLAIN's overhead."""
    times = []
    async with db.transaction(org_id, readonly=True) as tx:
        for _ in range(runs):
            t = time.perf_counter()
            await tx.fetch(sql, *args)
            times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


async def login(client: httpx.AsyncClient, email: str, password: str) -> None:
    page = await client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = await client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert r.status_code == 303, f"login failed: {r.status_code}"


async def timed(client: httpx.AsyncClient, paths: list[str]) -> tuple[list[float], list[httpx.Response]]:
    times, responses = [], []
    for path in paths:
        t = time.perf_counter()
        r = await client.get(path)
        times.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, f"GET {path}: {r.status_code}"
        responses.append(r)
    return times, responses


async def measure(size: int, args) -> dict:
    with throwaway_servers("samsyn-pages-") as servers:
        settings = await migrated_settings(*servers, secret_key="bench", db_pool_max=20,
                                           login_attempts=10**6, login_attempts_per_address=10**6)
        owner = await asyncpg.connect(settings.database_owner_url)
        machine = {"postgres": await owner.fetchval("SHOW server_version"),
                   "shared_buffers": await owner.fetchval("SHOW shared_buffers"),
                   "migrations": [r["version"] for r in await owner.fetch(
                       "SELECT version FROM schema_migrations ORDER BY version")]}
        await owner.close()

        filled = await volume.fill(settings.database_owner_url, conversations=size, seed=args.seed,
                                   log=lambda line: print(line, flush=True))
        s = await volume.summary(settings.database_owner_url, filled.org_id)
        print(f"filled {size:,}: {filled.rows['messages']:,} messages, {filled.rows['events']:,} events, "
              f"{s['open']:,} open, in {filled.seconds['total']:.0f} s", flush=True)
        if args.check:
            problems = await volume.check(settings.database_owner_url, filled.org_id)
            print("  check: " + ("consistent" if not problems else "; ".join(problems)), flush=True)

        db = await Database.connect(settings, None)
        org_id = filled.org_id
        counts = await explain(db, org_id, channels.CHANNELS.format(where=""), org_id)
        counts["query_ms"] = await query_ms(db, org_id, channels.CHANNELS.format(where=""), org_id)
        queue = await explain(db, org_id, conversations.QUEUE, org_id, QUEUE_LIMIT)
        queue["query_ms"] = await query_ms(db, org_id, conversations.QUEUE, org_id, QUEUE_LIMIT)
        views = await measure_views(db, org_id)
        customer_id = (await db.read(org_id, PICK_CUSTOMER, org_id, size // 2))[0]["customer_id"]
        viewer_id = (await db.read(org_id, PICK_VIEWER, org_id))[0]["user_id"]
        lookups = {}
        for name, sql, arg in (("customer history", CUSTOMER_HISTORY, customer_id),
                               ("member's messages", MEMBER_MESSAGES, viewer_id),
                               ("member's conversations", MEMBER_CONVERSATIONS, viewer_id)):
            lookups[name] = await explain(db, org_id, sql, org_id, arg, runs=3)
            lookups[name]["query_ms"] = await query_ms(db, org_id, sql, org_id, arg, runs=5)
        bounds = (await db.read(org_id, "SELECT min(id) AS lo, max(id) AS hi FROM conversations WHERE org_id = $1",
                                org_id))[0]
        await db.close()

        # plain uvicorn.Config, not app.serve's: this file also runs on commits from before app.serve
        server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=settings.web_port,
                                               log_level="warning"))
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        logging.getLogger().setLevel(logging.WARNING)  # the app logs every request at info; not part of the numbers
        try:
            async with httpx.AsyncClient(base_url=settings.base_url, timeout=60) as client:
                await login(client, filled.admin_email, filled.password)
                rng = random.Random(args.seed)
                ids = [rng.randint(bounds["lo"], bounds["hi"]) for _ in range(args.requests)]
                await timed(client, ["/"] * 5 + [f"/conversations/{i}" for i in ids[:5]])  # warm-up
                dashboard, pages = await timed(client, ["/"] * args.requests)
                for name in queues.VIEWS:  # each view's first page over HTTP, as the left column links it
                    views[f"{name}"]["http"], _ = await timed(client, [f"/?view={name}"] * max(10, args.requests // 5))
                conversation, conv_pages = await timed(client, [f"/conversations/{i}" for i in ids])
        finally:
            server.should_exit = True
            await task
    return {
        "size": size, "machine": machine, "fill": filled, "summary": s, "counts": counts, "queue": queue,
        "lookups": lookups, "views": views,
        "dashboard": dashboard, "rows": pages[-1].text.count('class="queue-row'), "html": len(pages[-1].content),
        "conversation": conversation, "conv_html": statistics.mean(len(p.content) for p in conv_pages),
        "messages": statistics.mean(p.text.count('class="message ') for p in conv_pages),
    }


async def measure_views(db: Database, org_id: int) -> dict:
    """EXPLAIN (ANALYZE, BUFFERS) of each view's first page, a page 1,000 rows deep (keyset), and a channel's
    first page; the counts as the dashboard reads them and as counting the rows would give them."""
    busiest = (await db.read(org_id, PICK_BUSIEST, org_id))[0]["assignee_id"]
    smallest = (await db.read(org_id, PICK_SMALLEST, org_id))[0]["id"]
    found = {}
    for name in queues.VIEWS:
        query = queues.Query(name)
        deep = await queues.page(db, org_id, busiest, query, limit=1000)
        cases = {"first page": query, "1,000 deep": queues.Query.parse({"view": name, "after": deep.more or ""}),
                 "other order": queues.Query(name, order="newest" if query.direction == "oldest" else "oldest"),
                 "one channel": queues.Query(name, channel_id=smallest)}
        found[name] = {}
        for case, q in cases.items():
            sql, args = queues.page_sql(q, org_id, busiest, queues.PAGE)
            found[name][case] = await explain(db, org_id, sql, *args)
            found[name][case]["query_ms"] = await query_ms(db, org_id, sql, *args, runs=10)
    counts_args = (org_id, [busiest])
    found["counts"] = {"kept (dashboard_counts)": await explain(db, org_id, queues.COUNTS, *counts_args),
                       "counted from the rows": await explain(db, org_id, COUNTED_FROM_ROWS, org_id, runs=3)}
    found["counts"]["kept (dashboard_counts)"]["query_ms"] = await query_ms(db, org_id, queues.COUNTS, *counts_args)
    found["counts"]["counted from the rows"]["query_ms"] = await query_ms(db, org_id, COUNTED_FROM_ROWS, org_id, runs=3)
    return found


def report_views(r: dict) -> None:
    print(f"\n== views at {r['size']:,} conversations: query p50; EXPLAIN ANALYZE time, shared buffers, scans")
    for name, cases in r["views"].items():
        if "http" in cases:
            print(f"{name}: GET /?view={name} p50 {pct(cases['http'], .5):.1f} ms p95 {pct(cases['http'], .95):.1f} ms")
        for case, e in cases.items():
            if case != "http":
                print(f"  {case:24} {e['query_ms']:8.2f} ms; {e['ms']:8.2f} ms, {e['buffers']:,} buffers, "
                      f"{e['rows']} rows: {'; '.join(e['scans'])}")


def report(r: dict) -> None:
    s, counts, queue = r["summary"], r["counts"], r["queue"]
    print(f"\n== {r['size']:,} conversations ({s['open']:,} open, {r['fill'].rows['messages']:,} messages); "
          f"fill {r['fill'].seconds['total']:.0f} s; tables "
          + ", ".join(f"{t} {b / 2**20:,.0f} MB" for t, b in s["sizes"].items()))
    print(f"GET /                    p50 {pct(r['dashboard'], .5):7.1f} ms  p95 {pct(r['dashboard'], .95):7.1f} ms"
          f"  ({r['rows']} queue rows, {r['html'] / 1024:.0f} KB)")
    print(f"GET /conversations/{{id}} p50 {pct(r['conversation'], .5):7.1f} ms  "
          f"p95 {pct(r['conversation'], .95):7.1f} ms  ({r['messages']:.1f} messages, {r['conv_html'] / 1024:.1f} KB)")
    for name, e in (("channel counts", counts), ("queue", queue), *r["lookups"].items()):
        print(f"{name:22} query p50 {e['query_ms']:7.2f} ms; EXPLAIN ANALYZE {e['ms']:7.2f} ms, "
              f"{e['buffers']:,} shared buffers ({e['read']:,} read), {e['rows']} rows: {'; '.join(e['scans'])}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="conversations per run, comma-separated")
    parser.add_argument("--requests", type=int, default=100, help="timed requests per page and size")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--check", action="store_true", help="verify the filled data's consistency (slow at 1M)")
    args = parser.parse_args()

    results = []
    for size in [int(s) for s in args.sizes.split(",")]:
        results.append(await measure(size, args))
        report(results[-1])
        report_views(results[-1])
    m = results[0]["machine"]
    print(f"\n{os.cpu_count()} cores, PostgreSQL {m['postgres']} (shared_buffers {m['shared_buffers']}), "
          f"migrations {', '.join(m['migrations'])}; one uvicorn process in the same event loop as the client")
    print("\n| conversations | open | GET / p50 | p95 | queue rows | HTML | conversation p50 | p95 "
          "| counts query | counts EXPLAIN (buffers) | queue query | queue EXPLAIN (buffers) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        c, q = r["counts"], r["queue"]
        print(f"| {r['size']:,} | {r['summary']['open']:,} | {pct(r['dashboard'], .5):.1f} ms "
              f"| {pct(r['dashboard'], .95):.1f} ms | {r['rows']} | {r['html'] / 1024:.0f} KB "
              f"| {pct(r['conversation'], .5):.1f} ms | {pct(r['conversation'], .95):.1f} ms "
              f"| {c['query_ms']:.1f} ms | {c['ms']:.1f} ms ({c['buffers']:,}) "
              f"| {q['query_ms']:.1f} ms | {q['ms']:.1f} ms ({q['buffers']:,}) |")
    names = list(results[0]["lookups"])
    print("\n| conversations | view | first page | 1,000 deep | other order | one channel | GET /?view= p50 |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for r in results:
        for name in queues.VIEWS:
            v = r["views"][name]
            print(f"| {r['size']:,} | {name} | " + " | ".join(
                f"{v[c]['query_ms']:.2f} ms ({v[c]['buffers']:,})" for c in ("first page", "1,000 deep", "other order",
                                                                               "one channel"))
                  + f" | {pct(v['http'], .5):.1f} ms |")
        c = r["views"]["counts"]
        print(f"| {r['size']:,} | counts: kept / counted from rows | "
              f"{c['kept (dashboard_counts)']['query_ms']:.2f} ms ({c['kept (dashboard_counts)']['buffers']:,}) "
              f"| {c['counted from the rows']['query_ms']:.1f} ms ({c['counted from the rows']['buffers']:,}) | | | |")
    print("\n| conversations | " + " | ".join(f"{n} query (buffers)" for n in names) + " |")
    print("|---:|" + "---:|" * len(names))
    for r in results:
        print(f"| {r['size']:,} | " + " | ".join(
            f"{r['lookups'][n]['query_ms']:.2f} ms ({r['lookups'][n]['buffers']:,})" for n in names) + " |")


if __name__ == "__main__":
    asyncio.run(main())
