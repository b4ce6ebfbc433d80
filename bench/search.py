"""Search at volume: p50/p95 of a fixed mix of 100 queries over a million conversations.

    .venv/bin/python -m bench.search [--conversations 1000000] [--rounds 3]

Fills a throwaway database with bench/volume.py, then runs `app.search.search` as the organisation's
admin (the app's role, under row-level security, exactly as /search does) for a fixed mix drawn
from the filled data with a fixed seed:

- 15 single Swedish words and 10 English ones, from the demo threads' vocabulary at three
  frequencies (common, middling, rare);
- 15 two-word phrases (quoted and unquoted) taken from real messages;
- 15 case numbers (`#1234`) and 15 customer addresses;
- 30 filters: tags, statuses, assignees, alone and with words.

A warm-up pass runs the mix once; then `--rounds` passes are timed. Prints p50/p95/max overall and
per category, and the slowest queries.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import time
from collections import Counter

import asyncpg

from app import search
from app.actors import Actor
from app.db import Database
from bench import volume
from devtools.services import migrated_settings, throwaway_servers

WORD = re.compile(r"[a-zåäöéü]{4,}")


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def vocabulary(seed: int) -> dict[str, list[str]]:
    """Words of the demo threads by language, most frequent first (names and signatures included)."""
    counts: dict[str, Counter] = {}
    for pool in volume.threads(seed).values():
        for t in pool:
            for _, _, _, text in t.messages:
                counts.setdefault(t.language, Counter()).update(WORD.findall(text.lower()))
    return {lang: [w for w, _ in c.most_common()] for lang, c in counts.items()}


def pick_words(rng: random.Random, words: list[str], n: int) -> list[str]:
    """n words: a third common (top 50), a third middling (50-500), a third rare (past 500)."""
    bands = [words[:50], words[50:500], words[500:] or words[50:]]
    return [rng.choice(bands[i % 3]) for i in range(n)]


async def query_mix(owner: asyncpg.Connection, org_id: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    vocab = vocabulary(seed)
    mix = [("sv word", w) for w in pick_words(rng, vocab["sv"], 15)]
    mix += [("en word", w) for w in pick_words(rng, vocab["en"], 10)]
    bodies = [r["body_text"] for r in await owner.fetch(
        "SELECT body_text FROM messages TABLESAMPLE SYSTEM (1) REPEATABLE ($2) WHERE org_id = $1 LIMIT 2000",
        org_id, seed)]
    phrases = []
    while len(phrases) < 15:
        words = WORD.findall(rng.choice(bodies).lower())
        if len(words) >= 2:
            i = rng.randrange(len(words) - 1)
            pair = f"{words[i]} {words[i + 1]}"
            phrases.append(f'"{pair}"' if len(phrases) % 2 == 0 else pair)
    mix += [("phrase", p) for p in phrases]
    top = await owner.fetchval("SELECT last_case_number FROM organizations WHERE id = $1", org_id)
    mix += [("case number", f"#{rng.randint(1, top)}") for _ in range(15)]
    emails = [r["email"] for r in await owner.fetch(
        "SELECT email FROM customers TABLESAMPLE SYSTEM (5) REPEATABLE ($2) WHERE org_id = $1 LIMIT 500",
        org_id, seed)]
    mix += [("customer", rng.choice(emails)) for _ in range(15)]
    tags = [r["name"] for r in await owner.fetch("SELECT name FROM tags WHERE org_id = $1 ORDER BY id", org_id)]
    names = ["anna", "björn", "karin", "omar", "sara"]
    quoted = [f'tag:"{t}"' if " " in t else f"tag:{t}" for t in tags]
    filters = [rng.choice(quoted) for _ in range(6)]
    filters += [f"{rng.choice(quoted)} status:open" for _ in range(4)]
    filters += [f"status:closed {rng.choice(vocab['sv'][:200])}" for _ in range(4)]
    filters += ["status:waiting", "status:open"]
    filters += [f"assignee:{rng.choice(names)}" for _ in range(4)]
    filters += ["assignee:none status:open", "assignee:none"]
    filters += [f"{rng.choice(quoted)} {rng.choice(vocab['sv'][:300])}" for _ in range(4)]
    filters += [f"#{rng.randint(1, top)} status:closed" for _ in range(2)]
    filters += [f"{rng.choice(emails)} status:closed" for _ in range(2)]
    mix += [("filter", f) for f in filters]
    assert len(mix) == 100, len(mix)
    return mix


async def run(args) -> None:
    with throwaway_servers("samsyn-search-") as servers:
        settings = await migrated_settings(*servers, secret_key="bench", db_pool_max=4)
        filled = await volume.fill(settings.database_owner_url, conversations=args.conversations, seed=args.seed,
                                   log=lambda line: print(line, flush=True))
        owner = await asyncpg.connect(settings.database_owner_url)
        try:
            mix = await query_mix(owner, filled.org_id, args.seed)
            admin = await owner.fetchrow(
                "SELECT u.id, u.name, u.email FROM users u JOIN memberships m ON m.user_id = u.id "
                "WHERE m.org_id = $1 AND m.role = 'admin' ORDER BY u.id LIMIT 1", filled.org_id)
        finally:
            await owner.close()
        actor = Actor(admin["id"], filled.org_id, "admin", admin["name"], admin["email"], "sv", volume.ORG_NAME,
                      "Europe/Stockholm")
        db = await Database.connect(settings, None)
        try:
            for _, q in mix:  # warm-up: the caches as a running system has them
                await search.search(db, actor, q)
            timings: dict[str, list[float]] = {}
            hits: dict[str, int] = {}
            for _ in range(args.rounds):
                for _, q in mix:
                    started = time.perf_counter()
                    rows = await search.search(db, actor, q)
                    timings.setdefault(q, []).append((time.perf_counter() - started) * 1000)
                    hits[q] = len(rows)
        finally:
            await db.close()

    print(f"\n== search over {args.conversations:,} conversations: {len(mix)} queries × {args.rounds} rounds")
    report(mix, timings, hits)


def report(mix: list[tuple[str, str]], timings: dict[str, list[float]], hits: dict[str, int]) -> None:
    """p50/p95/max over all queries and per category, and the slowest queries (also bench/forum_search.py)."""
    every = [ms for q in timings for ms in timings[q]]
    print(f"all: p50 {pct(every, 50):.1f} ms, p95 {pct(every, 95):.1f} ms, max {max(every):.1f} ms, "
          f"mean {statistics.mean(every):.1f} ms")
    for category in dict.fromkeys(c for c, _ in mix):
        ms = [t for c, q in mix if c == category for t in timings[q]]
        found = [hits[q] for c, q in mix if c == category]
        print(f"  {category:12} p50 {pct(ms, 50):7.1f} ms  p95 {pct(ms, 95):7.1f} ms  max {max(ms):7.1f} ms  "
              f"(results per query: median {statistics.median(found):.0f}, none for {found.count(0)})")
    print("slowest (median of rounds):")
    for q in sorted(timings, key=lambda q: -statistics.median(timings[q]))[:8]:
        print(f"  {statistics.median(timings[q]):7.1f} ms  {hits[q]:3} results  {q}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3, help="timed passes over the mix")
    parser.add_argument("--seed", type=int, default=1)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
