"""The customer barometer at volume: every barometer view and drill-down over HTTP, at 1M conversations.

    .venv/bin/python -m bench.barometer [--conversations 1000000] [--requests 40] [--keep DIR]

Its own PostgreSQL and Redis in a temporary directory (like the tests), migrated; one organisation
filled by bench/volume.py (two years, tags included). Its customer messages get labels while they
are loaded: a bench-only BEFORE INSERT trigger labels each by a hash of its text (about 25 % negative,
45 % neutral, 30 % positive, the same text always alike, 1 % corrected by an editor), with the
roll-up trigger off for the load; then sentiment_rebuild() counts the roll-ups once, as after any
bulk load. (The scorer's own speed is bench/sentiment.py's.) Then the app under uvicorn in this
process, a login as the admin, and sequential requests per view: p50 and p95. Last, the write
path's cost: scoring one message (and correcting one) through the domain functions, with triggers.

--render times only the rendering of the two-year weekly page (104 bars), from made-up figures; --profile
adds a cProfile of it.

With --keep DIR the PostgreSQL data stays in DIR: the first run fills it, later runs (after any new
migration, applied on start) measure the same data again at once. A 1M fill takes 10-25 minutes.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import random
import statistics
import time
from datetime import date, datetime, timedelta, timezone

import asyncpg
import httpx
import uvicorn

from app import barometer
from app.actors import Actor
from app.db import Database
from app.main import create_app
from bench import volume
from bench.pages import login, pct, timed
from devtools.services import kept_servers, migrated_settings, start_server, throwaway_servers

LABEL_WHILE_LOADING = """
CREATE FUNCTION bench_label() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE h integer := abs(hashtext(NEW.body_text)) % 100;
BEGIN
    NEW.sentiment := CASE WHEN h < 25 THEN 'neg' WHEN h < 70 THEN 'neu' ELSE 'pos' END;
    NEW.sentiment_compound := (h - 50) / 50.0;
    NEW.sentiment_scored_at := NEW.created_at;
    IF abs(hashtext(NEW.id::text)) % 100 = 0 THEN
        NEW.sentiment_correction := 'neu';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER bench_label BEFORE INSERT ON messages FOR EACH ROW
    WHEN (NEW.author_id IS NULL AND NEW.kind IN ('customer', 'comment')) EXECUTE FUNCTION bench_label();
ALTER TABLE messages DISABLE TRIGGER sentiment_message_inserted;
"""
DONE_LOADING = """
DROP TRIGGER bench_label ON messages;
DROP FUNCTION bench_label();
ALTER TABLE messages ENABLE TRIGGER sentiment_message_inserted;
"""
TAG_SIZES = """
SELECT tag_id, sum(messages) AS n FROM sentiment_tag_days WHERE org_id = $1 GROUP BY 1 ORDER BY 2 DESC
"""


async def _views(db: Database, org_id: int, today: date) -> list[tuple[str, str]]:
    """(name, path) of each view measured, with the channel, group and tags drawn from the data."""
    found = await db.read(org_id, TAG_SIZES, org_id)
    common, rare = found[0]["tag_id"], found[-1]["tag_id"]
    channel = (await db.read(org_id, "SELECT id FROM channels WHERE org_id = $1 ORDER BY id LIMIT 1", org_id))[0]["id"]
    group = (await db.read(org_id, "SELECT id FROM tag_groups WHERE org_id = $1 ORDER BY id LIMIT 1", org_id))[0]["id"]
    two_years = f"from={today - timedelta(days=729)}&to={today}"
    week = barometer.bucket_of(today - timedelta(weeks=3), "week")
    one_week = f"from={week}&to={week + timedelta(days=6)}"
    month = f"from={today.replace(day=1)}&to={today}"
    return [
        ("barometer, default (12 weeks by week)", "/barometer"),
        ("this month by week", "/barometer?period=this_month"),
        ("two years by month", f"/barometer?{two_years}&by=month"),
        ("two years by week", f"/barometer?{two_years}&by=week"),
        ("two years, one channel", f"/barometer?{two_years}&by=month&channel={channel}"),
        ("two years, one tag group", f"/barometer?{two_years}&by=month&group={group}"),
        ("two years, the commonest tag", f"/barometer?{two_years}&by=week&tag={common}"),
        ("drill: negative, 12 weeks", "/barometer/messages?label=neg"),
        ("drill: negative, commonest tag, a week", f"/barometer/messages?label=neg&{one_week}&tag={common}"),
        ("drill: negative, rarest tag, two years", f"/barometer/messages?label=neg&{two_years}&tag={rare}"),
        ("drill: positive, a channel, this month", f"/barometer/messages?label=pos&{month}&channel={channel}"),
        ("drill: neutral, a tag group, two years", f"/barometer/messages?label=neu&{two_years}&group={group}"),
    ]


async def _write_path(db: Database, org_id: int, admin: Actor, n: int) -> dict:
    """Median ms of scoring one new customer message and of correcting one, roll-up triggers included."""
    rows = await db.read(org_id, """SELECT id FROM messages WHERE org_id = $1 AND author_id IS NULL
                                    AND kind = 'customer' ORDER BY id DESC LIMIT $2""", org_id, n)
    ids = [r["id"] for r in rows]
    async with db.transaction(org_id) as tx:  # as if they had just arrived unscored
        await tx.execute("UPDATE messages SET sentiment = NULL, sentiment_scored_at = NULL, "
                         "sentiment_correction = NULL WHERE org_id = $1 AND id = ANY($2::bigint[])", org_id, ids)
    scoring, correcting = [], []
    for message_id in ids:
        t = time.perf_counter()
        await barometer.score_messages(db, org_id, [message_id])
        scoring.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        await barometer.correct(db, admin, message_id, random.choice(barometer.LABELS))
        correcting.append((time.perf_counter() - t) * 1000)
    return {"score": statistics.median(scoring), "correct": statistics.median(correcting)}


async def _fill(owner: asyncpg.Connection, owner_url: str, args) -> tuple[volume.Volume, float]:
    """One organisation of `args.conversations`, labelled while loaded, its roll-ups counted once."""
    await owner.execute(LABEL_WHILE_LOADING)
    filled = await volume.fill(owner_url, conversations=args.conversations, seed=args.seed,
                               log=lambda line: print(line, flush=True))
    t = time.perf_counter()
    await owner.execute(DONE_LOADING)
    async with owner.transaction():
        await owner.execute("SELECT set_config('app.org_id', $1, true)", str(filled.org_id))
        await owner.execute("SELECT sentiment_rebuild($1)", filled.org_id)
    rebuild = time.perf_counter() - t
    await owner.execute("VACUUM (ANALYZE) messages, conversations, conversation_tags, sentiment_days, "
                        "sentiment_tag_days, sentiment_group_days, sentiment_weeks, sentiment_tag_weeks, "
                        "sentiment_group_weeks")
    return filled, rebuild


async def _kept_fill(owner_url: str, conversations: int) -> volume.Volume | None:
    """The organisation an earlier run with --keep filled, if it has this many conversations."""
    kept = await volume.kept(owner_url)
    if kept is not None and kept.rows["conversations"] != conversations:
        raise SystemExit(f"the kept database holds {kept.rows['conversations']:,} conversations, not {conversations:,}")
    return kept


async def measure(args) -> dict:
    servers_in = kept_servers(args.keep) if args.keep else throwaway_servers("samsyn-barometer-")
    with servers_in as servers:
        settings = await migrated_settings(*servers, secret_key="bench", db_pool_max=20,
                                           login_attempts=10**6, login_attempts_per_address=10**6)
        owner = await asyncpg.connect(settings.database_owner_url)
        filled, rebuild = (await _kept_fill(settings.database_owner_url, args.conversations) if args.keep
                           else None), 0.0
        if filled is None:
            filled, rebuild = await _fill(owner, settings.database_owner_url, args)
        org_id = filled.org_id
        sizes = {r["t"]: r["n"] for r in await owner.fetch(
            """SELECT 'sentiment_days' AS t, count(*) AS n FROM sentiment_days UNION ALL
               SELECT 'sentiment_tag_days', count(*) FROM sentiment_tag_days UNION ALL
               SELECT 'sentiment_group_days', count(*) FROM sentiment_group_days UNION ALL
               SELECT 'scored messages', count(*) FROM messages WHERE sentiment IS NOT NULL""")}
        admin_id = await owner.fetchval("SELECT id FROM users WHERE email = $1", filled.admin_email)
        tz = await owner.fetchval("SELECT time_zone FROM organizations WHERE id = $1", org_id)
        await owner.close()
        print(f"{args.conversations:,} conversations: {filled.rows['messages']:,} messages, filled in "
              f"{filled.seconds.get('total', 0):.0f} s (0: kept); roll-ups rebuilt in {rebuild:.1f} s: {sizes}", flush=True)

        db = await Database.connect(settings, None)
        today = datetime.now(timezone.utc).date()
        views = await _views(db, org_id, today)
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=settings.web_port, log_level="warning")
        gc.freeze()  # as app.serve does before serving: start-up's objects out of every full collection
        stop = await start_server(config)
        logging.getLogger().setLevel(logging.WARNING)  # the app logs every request at info
        timings = {}
        try:
            async with httpx.AsyncClient(base_url=settings.base_url, timeout=60) as client:
                await login(client, filled.admin_email, filled.password)
                for name, path in views:
                    await timed(client, [path] * 3)  # warm-up
                    timings[name], responses = await timed(client, [path] * args.requests)
                    print(f"{name:42} p50 {pct(timings[name], .5):6.1f} ms  p95 {pct(timings[name], .95):6.1f} ms"
                          f"  ({len(responses[-1].content) / 1024:.0f} KB)", flush=True)
                # the second page of a long drill-down, by its keyset link
                first = (await client.get(views[7][1])).text
                next_path = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
                await timed(client, [next_path] * 3)
                timings["drill: negative, 12 weeks, page 2"], _ = await timed(client, [next_path] * args.requests)
                name = "drill: negative, 12 weeks, page 2"
                print(f"{name:42} p50 {pct(timings[name], .5):6.1f} ms  p95 {pct(timings[name], .95):6.1f} ms")
        finally:
            await stop()
        admin = Actor(admin_id, org_id, "admin", "Lena Holm", filled.admin_email, "sv", volume.ORG_NAME, tz)
        writes = await _write_path(db, org_id, admin, args.writes)
        await db.close()
    print(f"write path: scoring one message {writes['score']:.1f} ms, correcting one {writes['correct']:.1f} ms "
          f"(median of {args.writes}, roll-up triggers included)")
    return {"timings": timings, "writes": writes, "fill": filled, "rebuild": rebuild, "sizes": sizes}


def render_only(profile: bool) -> None:
    """The page of two years by week (104 bars, a 104-row table, 40 tags) rendered from made-up figures, no
    database: ms per render, and with `profile` where the time goes (cProfile)."""
    import cProfile
    import pstats

    from app.templating import render
    from app.web.barometer import HEIGHT, LEFT, PRESETS, WIDTH, _bars, _drill, _query

    rng = random.Random(1)

    def counts() -> barometer.Counts:
        return barometer.Counts(*(rng.randint(100, 900) for _ in range(3)), rng.randint(0, 20))

    def rows(n: int, name: str, group: str | None = None) -> list[barometer.Row]:
        return [barometer.Row(i, f"{name} {i}", counts(), counts(), group) for i in range(1, n + 1)]

    f = barometer.Filters(date(2024, 12, 2), date(2026, 11, 29), "week", tag_id=1)
    buckets = [(f.start + timedelta(weeks=i), counts()) for i in range(104)]
    figures = {"buckets": buckets, "total": barometer.Row("total", "", counts(), counts()), "channels": rows(6, "Kanal"),
               "groups": rows(8, "Grupp"), "tags": rows(40, "Tagg", "Område"), "previous": f.previous()}
    choices = {"channels": [{"id": i, "name": f"Kanal {i}"} for i in range(6)],
               "groups": [{"id": i, "name": f"Grupp {i}"} for i in range(8)],
               "tags": [{"id": i, "name": f"Tagg {i}", "group_name": "Område"} for i in range(40)]}

    def page() -> str:  # as app/web/barometer.py show() renders it
        drill = _drill(f)
        return render("pages/barometer.html", request=None, session=None, actor=None, csrf_token="", locale="sv",
                      time_zone="Europe/Stockholm", f=f, figures=figures, error=None,
                      typed={"from": f.start.isoformat(), "to": f.end.isoformat()}, choices=choices,
                      presets=list(PRESETS), drill=drill, bars=_bars(buckets, f.by, drill, "sv"),
                      frame=(HEIGHT, LEFT, WIDTH),
                      query=lambda **changes: _query(f, **changes))

    size = len(page())
    gc.freeze()
    times = []
    for _ in range(50):
        t = time.perf_counter()
        page()
        times.append((time.perf_counter() - t) * 1000)
    print(f"two years by week, 104 bars: {size / 1024:.0f} KB, p50 {pct(times, .5):.1f} ms, p95 {pct(times, .95):.1f} ms "
          f"per render")
    if profile:
        with cProfile.Profile() as prof:
            for _ in range(10):
                page()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(20)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=40, help="timed requests per view")
    parser.add_argument("--writes", type=int, default=50, help="messages scored and corrected for the write path")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", metavar="DIR", help="keep the filled database in DIR and reuse it on the next run")
    parser.add_argument("--render", action="store_true", help="only time rendering the two-year weekly page")
    parser.add_argument("--profile", action="store_true", help="with --render: where its time goes (cProfile)")
    args = parser.parse_args()
    if args.render:
        render_only(args.profile)
        return
    r = await measure(args)
    print(f"\n{os.cpu_count()} cores; {args.conversations:,} conversations, {r['fill'].rows['messages']:,} messages, "
          f"{r['sizes']['scored messages']:,} scored; roll-ups rebuilt in {r['rebuild']:.0f} s "
          f"({r['sizes']['sentiment_days']:,} / {r['sizes']['sentiment_tag_days']:,} / "
          f"{r['sizes']['sentiment_group_days']:,} rows per day, channel, tag, group)")
    print("\n| view | p50 | p95 |\n|---|---:|---:|")
    for name, times in r["timings"].items():
        print(f"| {name} | {pct(times, .5):.1f} ms | {pct(times, .95):.1f} ms |")


if __name__ == "__main__":
    asyncio.run(main())
