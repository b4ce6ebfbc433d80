"""A forum's public search and "similar threads" at volume: p50/p95 of a fixed mix per forum.

    .venv/bin/python -m bench.forum_search [--conversations 1000000] [--rounds 3]

Fills a throwaway database with bench/volume.py (one organisation, its two largest forums hold about
26 % and 15 % of a million conversations, a small one 9 %), then runs `app.forum_search` as the public
pages do (the app's role, under row-level security, scoped to the forum) for a fixed mix per forum:
20 Swedish and 10 English words at three frequencies (bench/search.py's bands), 10 two-word phrases,
and 20 "similar threads" titles (demo thread subjects with a word changed, as a visitor types them).
A warm-up pass runs the mix once; then `--rounds` passes are timed.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import time

import asyncpg

from app import forum, forum_search
from app.db import Database
from bench import volume
from bench.search import WORD, pick_words, report, vocabulary
from devtools.services import migrated_settings, throwaway_servers


def query_mix(seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    vocab = vocabulary(seed)
    mix = [("sv word", w) for w in pick_words(rng, vocab["sv"], 20)]
    mix += [("en word", w) for w in pick_words(rng, vocab["en"], 10)]
    subjects = sorted({t.subject for pool in volume.threads(seed).values() for t in pool if t.subject})
    for i in range(10):
        words = WORD.findall(rng.choice(subjects).lower()) or ["hej", "paket"]
        pair = " ".join(words[:2]) if len(words) > 1 else words[0]
        mix.append(("phrase", f'"{pair}"' if i % 2 == 0 else pair))
    for _ in range(20):
        words = rng.choice(subjects).split()
        if len(words) > 2:
            words[rng.randrange(len(words))] = rng.choice(vocab["sv"][:300])
        mix.append(("similar", " ".join(words)))
    return mix


async def run(args) -> None:
    with throwaway_servers("samsyn-forum-search-") as servers:
        settings = await migrated_settings(*servers, secret_key="bench", db_pool_max=4)
        filled = await volume.fill(settings.database_owner_url, conversations=args.conversations, seed=args.seed,
                                   log=lambda line: print(line, flush=True))
        owner = await asyncpg.connect(settings.database_owner_url)
        try:
            forums = await owner.fetch(
                """SELECT c.address, c.name, count(v.id) FILTER (WHERE v.status = 'open' AND NOT v.spam) AS listed,
                          count(v.id) AS threads
                   FROM channels c LEFT JOIN conversations v ON v.org_id = c.org_id AND v.channel_id = c.id
                   WHERE c.org_id = $1 AND c.kind = 'forum' GROUP BY c.id ORDER BY c.id""", filled.org_id)
        finally:
            await owner.close()
        mix = query_mix(args.seed)
        db = await Database.connect(settings, None)
        results = {}
        try:
            for f in forums:
                found = await forum.find(db, f["address"])

                async def ask(category: str, q: str, found=found):
                    if category == "similar":
                        return await forum_search.similar(db, found, q)
                    return await forum_search.search(db, found, q)

                for category, q in mix:  # warm-up
                    await ask(category, q)
                timings: dict[str, list[float]] = {}
                hits: dict[str, int] = {}
                for _ in range(args.rounds):
                    for category, q in mix:
                        started = time.perf_counter()
                        rows = await ask(category, q)
                        timings.setdefault(q, []).append((time.perf_counter() - started) * 1000)
                        hits[q] = len(rows)
                results[f["name"]] = (f, timings, hits)
        finally:
            await db.close()

    print(f"\n== forum search over {args.conversations:,} conversations: {len(mix)} queries × {args.rounds} rounds "
          "per forum")
    for name, (f, timings, hits) in results.items():
        print(f"\n{name} ({f['threads']:,} threads, {f['listed']:,} listed)")
        report(mix, timings, hits)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3, help="timed passes over the mix")
    parser.add_argument("--seed", type=int, default=1)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
