"""What the live layer does per event before a byte is written: render_event's time per kind.

    .venv/bin/python -m bench.render [--per-kind 40] [--profile]

Its own PostgreSQL and Redis in a temporary directory, the demo seeded (app/demo.py), then the last
`--per-kind` events of a few common kinds rendered in Swedish one after another, as the hub renders
them (each in one read-only transaction): median and 90th percentile per kind, and the bytes of the
pieces, once as a dashboard's socket gets them and once with the case page's own pieces (what a socket
showing that case gets). `--profile` adds a cProfile of rendering one `conversation.assigned` thirty
times for a dashboard.
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import pstats
import statistics
import time

from app import demo
from app.db import Database, events_after
from devtools.services import migrated_settings, throwaway_servers
from realtime.fragments import render_event
from realtime.hub import _OneTransaction

KINDS = ("conversation.assigned", "message.added", "conversation.status_changed", "conversation.tagged")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=40)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.WARNING)
    with throwaway_servers("samsyn-render-") as servers:
        settings = await migrated_settings(*servers, secret_key="bench")
        db = await Database.connect(settings, None)
        await demo.seed(db)
        org_id = 1  # the demo's, the only organisation in this database
        by_kind: dict[str, list[dict]] = {}
        for event in await events_after(db, org_id, 0, limit=10**6):
            by_kind.setdefault(event["kind"], []).append(event)

        async def render(event: dict, cases: set[int] | None = frozenset()) -> list:
            async with db.transaction(org_id, readonly=True) as tx:
                return await render_event(_OneTransaction(db, tx), event, "sv", "Europe/Stockholm", cases)

        print("| kind | events | socket | median ms | p90 ms | bytes |\n|---|---:|---|---:|---:|---:|")
        for kind in KINDS:
            for socket, cases in (("dashboard", frozenset()), ("case page", None)):
                times, pieces = [], []
                for event in by_kind.get(kind, [])[-args.per_kind:]:
                    start = time.perf_counter()
                    pieces = await render(event, cases)
                    times.append((time.perf_counter() - start) * 1000)
                if times:
                    print(f"| {kind} | {len(times)} | {socket} | {statistics.median(times):.2f} | "
                          f"{sorted(times)[int(len(times) * 0.9)]:.2f} | {sum(len(p.html) for p in pieces):,} |")
        if args.profile:
            event = by_kind["conversation.assigned"][-1]
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(30):
                await render(event)
            profile.disable()
            pstats.Stats(profile).sort_stats("cumulative").print_stats(20)
        await db.close()


if __name__ == "__main__":
    asyncio.run(main())
