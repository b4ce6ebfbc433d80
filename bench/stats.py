"""Statistics at volume: every statistics view at 1M conversations / 3M messages over two years.

    .venv/bin/python -m bench.stats [--conversations 1000000] [--requests 40] [--check] [--keep DIR]

Its own PostgreSQL and Redis in a temporary directory (like the tests), migrated, one organisation
filled by bench/volume.py (whose fill counts the roll-ups once at the end, as stats_rebuild()), the
app under uvicorn in this process, a login as the organisation's admin; then each view requested
`--requests` times in turn (sequentially, after a warm-up round), printing p50/p95/max per view and
overall. The views: the screen with each preset and grouping, two years by week and by month, each
filter (channel, tag group, tag, assignee), and the lists behind the numbers (first and a later page,
narrowed to a week, a weekday, a measure). CSV downloads are left out, as the issue says.
With --check, the roll-ups are compared with a recount from the stored contributions (the weeks and months
with the days summed), and (slow) the
contributions of a sample of conversations with a fresh computation from the base tables.
With --keep DIR, the servers' data stays in DIR: the first run fills it, later runs migrate it (a new
migration runs on the filled data, as it would in production) and time the views again without a fill.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import time
from datetime import date, timedelta
from urllib.parse import urlencode

import asyncpg
import httpx
import uvicorn

from app.main import create_app
from bench import volume
from bench.pages import login, pct
from devtools.services import kept_servers, migrated_settings, start_server, throwaway_servers

SAMPLE_DIFFERS = """
SELECT count(*) FROM (
    SELECT * FROM stats_conversations WHERE org_id = $1 AND conversation_id % 97 = 0
    EXCEPT ALL SELECT * FROM stats_source WHERE org_id = $1 AND conversation_id % 97 = 0
) d
"""
RECOUNT_DIFFERS = """
SELECT count(*) FROM (
    (SELECT * FROM stats_daily WHERE org_id = $1 AND incoming + spam <> 0 EXCEPT ALL SELECT * FROM stats_recount($1, false))
    UNION ALL
    (SELECT * FROM stats_recount($1, false) EXCEPT ALL SELECT * FROM stats_daily WHERE org_id = $1 AND incoming + spam <> 0)
) d
"""
SPANS_DIFFER = """
SELECT count(*) FROM (
    (SELECT * FROM stats_spans WHERE org_id = $1 AND incoming + spam <> 0 EXCEPT ALL SELECT * FROM stats_span_recount($1))
    UNION ALL
    (SELECT * FROM stats_span_recount($1) EXCEPT ALL SELECT * FROM stats_spans WHERE org_id = $1 AND incoming + spam <> 0)
) d
"""


def views(today: date, ids: dict) -> dict[str, str]:
    two_years = {"preset": "custom", "from": (today - timedelta(days=730)).isoformat(), "to": today.isoformat()}
    last_year = {"preset": "custom", "from": (today - timedelta(days=365)).isoformat(), "to": today.isoformat()}
    week_ago = today - timedelta(days=7)
    monday = week_ago - timedelta(days=week_ago.weekday())
    lists = {"preset": "last_month", "grouping": "week"}
    return {
        "/stats (default: last 30 days by week)": "/stats",
        **{f"chart {name}, two years by week": "/stats/chart?" + urlencode({**two_years, "grouping": "week", "name": name})
           for name in ("incoming", "first_response", "weekdays", "hours")},
        "/stats this week by day": "/stats?" + urlencode({"preset": "this_week", "grouping": "day"}),
        "/stats last month by week": "/stats?" + urlencode({"preset": "last_month", "grouping": "week"}),
        "/stats this year by month": "/stats?" + urlencode({"preset": "this_year", "grouping": "month"}),
        "/stats two years by month": "/stats?" + urlencode({**two_years, "grouping": "month"}),
        "/stats two years by week": "/stats?" + urlencode({**two_years, "grouping": "week"}),
        "/stats 90 days by day": "/stats?" + urlencode({"preset": "custom", "grouping": "day",
                                                        "from": (today - timedelta(days=89)).isoformat(),
                                                        "to": today.isoformat()}),
        "/stats a year, one channel": "/stats?" + urlencode({**last_year, "channel_id": ids["channel"]}),
        "/stats a year, a tag group": "/stats?" + urlencode({**last_year, "group_id": ids["group"]}),
        "/stats a year, a tag": "/stats?" + urlencode({**last_year, "tag_id": ids["tag"]}),
        "/stats a year, an assignee": "/stats?" + urlencode({**last_year, "assignee_id": ids["assignee"]}),
        "/stats a year, tag + assignee": "/stats?" + urlencode({**last_year, "tag_id": ids["tag"],
                                                                "assignee_id": ids["assignee"]}),
        "list: last month, mail": "/stats/conversations?" + urlencode({**lists, "kind": "mail"}),
        "list: a week's forum threads": "/stats/conversations?" + urlencode(
            {"preset": "custom", "from": monday.isoformat(), "to": (monday + timedelta(days=6)).isoformat(),
             "kind": "forum"}),
        "list: a year's answered within target": "/stats/conversations?" + urlencode(
            {**last_year, "measure": "in_target"}),
        "list: two years' no reply needed, a tag": "/stats/conversations?" + urlencode(
            {**two_years, "measure": "no_reply", "tag_id": ids["tag"]}),
        "list: a year of Mondays 08-09": "/stats/conversations?" + urlencode(
            {**last_year, "weekday": 1, "hour": 8}),
        "list: a year, an assignee's resolved": "/stats/conversations?" + urlencode(
            {**last_year, "measure": "resolved", "assignee_id": ids["assignee"]}),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=40, help="timed requests per view")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--check", action="store_true", help="compare the roll-ups with recounts (slow at 1M)")
    parser.add_argument("--keep", metavar="DIR", help="keep the filled database in DIR and reuse it when there")
    args = parser.parse_args()
    with kept_servers(args.keep) if args.keep else throwaway_servers("samsyn-stats-") as servers:
        t = time.perf_counter()
        settings = await migrated_settings(*servers, secret_key="bench", db_pool_max=20,
                                           login_attempts=10**6, login_attempts_per_address=10**6)
        print(f"migrated in {time.perf_counter() - t:.0f} s", flush=True)
        filled = await volume.kept(settings.database_owner_url) if args.keep else None
        if filled is not None:  # what a migration since the fill changed is vacuumed and analysed, as autovacuum would
            t = time.perf_counter()
            owner = await asyncpg.connect(settings.database_owner_url)
            try:
                await owner.execute(f"VACUUM (ANALYZE) {volume.STATS_TABLES}")
            finally:
                await owner.close()
            print(f"reusing the fill in {args.keep}; VACUUM ANALYZE {time.perf_counter() - t:.0f} s", flush=True)
        else:
            filled = await volume.fill(settings.database_owner_url, conversations=args.conversations,
                                       seed=args.seed, log=lambda line: print(line, flush=True))
        org_id = filled.org_id
        owner = await asyncpg.connect(settings.database_owner_url)
        try:
            counts = await owner.fetchrow(
                """SELECT (SELECT count(*) FROM conversations WHERE org_id = $1) AS conversations,
                          (SELECT count(*) FROM messages WHERE org_id = $1) AS messages,
                          (SELECT count(*) FROM stats_daily WHERE org_id = $1) AS rollup_rows,
                          (SELECT count(*) FROM stats_spans WHERE org_id = $1) AS span_rows,
                          (SELECT pg_total_relation_size('stats_daily')) AS rollup_bytes,
                          (SELECT pg_total_relation_size('stats_spans')) AS span_bytes,
                          (SELECT pg_total_relation_size('stats_conversations')) AS contribution_bytes""", org_id)
            ids = {
                "channel": await owner.fetchval("SELECT id FROM channels WHERE org_id = $1 AND kind = 'mailbox' "
                                                "ORDER BY id LIMIT 1", org_id),
                "group": await owner.fetchval("SELECT id FROM tag_groups WHERE org_id = $1 ORDER BY id LIMIT 1",
                                              org_id),
                "tag": await owner.fetchval("""SELECT tag_id FROM conversation_tags WHERE org_id = $1
                                               GROUP BY 1 ORDER BY count(*) DESC LIMIT 1""", org_id),
                "assignee": await owner.fetchval("""SELECT assignee_id FROM conversations WHERE org_id = $1
                                                    AND assignee_id IS NOT NULL LIMIT 1""", org_id),
            }
            server_version = await owner.fetchval("SHOW server_version")
            if args.check:
                t = time.perf_counter()
                print(f"check: roll-ups vs recount of contributions: {await owner.fetchval(RECOUNT_DIFFERS, org_id)} "
                      f"rows differ; weeks and months vs the days summed: {await owner.fetchval(SPANS_DIFFER, org_id)} "
                      f"rows differ; a 1/97 sample of contributions vs the base tables: "
                      f"{await owner.fetchval(SAMPLE_DIFFERS, org_id)} differ ({time.perf_counter() - t:.0f} s)",
                      flush=True)
        finally:
            await owner.close()
        print(f"filled: {counts['conversations']:,} conversations, {counts['messages']:,} messages; "
              f"{counts['rollup_rows']:,} day rows ({counts['rollup_bytes'] / 2**20:,.0f} MB), {counts['span_rows']:,} "
              f"week and month rows ({counts['span_bytes'] / 2**20:,.0f} MB), contributions "
              f"{counts['contribution_bytes'] / 2**20:,.0f} MB; " + (
                  f"fill {filled.seconds['total']:.0f} s of which roll-ups {filled.seconds['statistics roll-ups']:.0f} s"
                  if filled.seconds else "the kept fill"), flush=True)

        stop = await start_server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=settings.web_port,
                                                 log_level="warning"))
        logging.getLogger().setLevel(logging.WARNING)
        results: dict[str, list[float]] = {}
        try:
            async with httpx.AsyncClient(base_url=settings.base_url, timeout=60) as client:
                await login(client, filled.admin_email, filled.password)
                paths = views(date.today(), ids)
                first = await client.get(paths["list: last month, mail"])
                later = first.text.split('rel="next"')[0].rsplit('href="', 1)[-1].split('"')[0].replace("&amp;", "&")
                paths["list: last month, mail, second page"] = later
                for path in paths.values():  # warm-up
                    assert (await client.get(path)).status_code == 200, path
                for _ in range(args.requests):
                    for name, path in paths.items():
                        t = time.perf_counter()
                        r = await client.get(path)
                        results.setdefault(name, []).append((time.perf_counter() - t) * 1000)
                        assert r.status_code == 200, f"{path}: {r.status_code}"
        finally:
            await stop()
    everything = [ms for times in results.values() for ms in times]
    print(f"\n{os.cpu_count()} cores, PostgreSQL {server_version}; one uvicorn process in the same event loop as "
          f"the client; {args.requests} requests per view, sequential\n")
    print("| view | p50 | p95 | max |\n|---|---:|---:|---:|")
    for name, times in results.items():
        print(f"| {name} | {pct(times, .5):.1f} ms | {pct(times, .95):.1f} ms | {max(times):.1f} ms |")
    print(f"| **all views** | {pct(everything, .5):.1f} ms | {pct(everything, .95):.1f} ms | {max(everything):.1f} ms |")


if __name__ == "__main__":
    asyncio.run(main())
