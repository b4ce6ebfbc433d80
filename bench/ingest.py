"""Ingest: the real corpus over SMTP into the smtp and worker processes, to cases the dashboard shows.

    .venv/bin/python -m bench.ingest [--mails 2000] [--connections 4] [--rate 0]

Starts its own PostgreSQL and Redis (as the tests do), one organisation with one mailbox, and the
product's own `python -m workers.smtp` and `python -m workers.worker` processes, one each. A sender in
this process delivers the corpus mails of ../shared/corpus/mail/ round-robin (each copy with a
Message-ID of its own, so none is de-duplicated) over `--connections` SMTP sessions, as fast as the
ingress takes them (`--rate 0`) or at a fixed offered rate. For each mail it records the moment the
ingress answered 250, and the moment its parse job committed (seen when the event's doorbell rings
on Redis: the live layer learns of it at the same moment). At the end it checks that the dashboard's
own query (`app.conversations.queue`) returns every case the mails went to.

Prints mails/s from the first 250 to the last mail handled, latency p50/p99 from 250 to handled, how
the mails ended (in a case, set aside as automatic, kept raw as unreadable), and the CPU seconds of
the smtp process, the worker, PostgreSQL and this sender (it shares the machine).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import aiosmtplib
import asyncpg
import redis.asyncio as aioredis

from app import accounts, channels, conversations
from app.db import Database
from devtools.services import free_port, migrated_settings, port_open, throwaway_servers

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "mail"
INGRESS_DOMAIN = "ingress.bench"
_MESSAGE_ID = re.compile(rb"^message-id:[^\n]*\n(?:[ \t][^\n]*\n)*", re.I | re.M)
_HEADER_END = re.compile(rb"\r?\n\r?\n")

HANDLED = """
SELECT id, message_id, state, conversation_id FROM raw_mails
WHERE org_id = $1 AND id > $2 AND state <> 'new'
"""
# Below the first mail still waiting, every mail is handled: the next read starts there (a range scan).
NEXT_FLOOR = """
SELECT coalesce((SELECT min(id) - 1 FROM raw_mails WHERE org_id = $1 AND id > $2 AND state = 'new'),
                (SELECT max(id) FROM raw_mails WHERE org_id = $1), 0)
"""


def corpus() -> list[bytes]:
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix not in (".md", ".json"))
    if not files:
        sys.exit(f"no corpus at {CORPUS}: run from a checkout beside shared/")
    return [p.read_bytes() for p in files]


def with_message_id(raw: bytes, message_id: str) -> bytes:
    """The mail with its own Message-ID in place of the corpus one (or added when it had none)."""
    end = _HEADER_END.search(raw)
    head, rest = (raw[:end.start() + 1], raw[end.start() + 1:]) if end else (raw, b"")
    return b"Message-ID: <" + message_id.encode() + b">\r\n" + _MESSAGE_ID.sub(b"", head) + rest


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (all cores, every process, exited ones too)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def postgres_cpu(data_dir: Path) -> float:
    """CPU seconds of this PostgreSQL instance's live processes (the postmaster and its backends; a
    process that exited during the run, an autovacuum worker say, is missing: see machine_busy)."""
    total = 0.0
    pid_file = data_dir / "postmaster.pid"
    postmaster = int(pid_file.read_text().split()[0])
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if int(proc.name) == postmaster or ppid == postmaster:
                total += cpu_seconds(int(proc.name))
        except (OSError, ValueError, IndexError):
            continue
    return total


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


async def send_all(port: int, recipient: str, mails: list[tuple[str, bytes]], connections: int, rate: float,
                   accepted: dict[str, float], refused: dict[str, str]) -> None:
    """Deliver the mails over `connections` SMTP sessions; record when each was answered 250."""
    start = time.monotonic()
    queue: asyncio.Queue = asyncio.Queue()
    for i, item in enumerate(mails):
        queue.put_nowait((i, item))

    async def session() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=120)
        await client.connect()
        try:
            while not queue.empty():
                i, (message_id, data) = queue.get_nowait()
                if rate:
                    await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
                try:
                    await client.sendmail("sender@bench.invalid", [recipient], data)
                    accepted[message_id] = time.monotonic()
                except aiosmtplib.SMTPResponseException as exc:
                    refused[message_id] = f"{exc.code} {exc.message}"
        finally:
            await client.quit()

    await asyncio.gather(*(session() for _ in range(connections)))


async def watch(owner: asyncpg.Connection, redis_url: str, org_id: int, expected: set[str],
                handled: dict[str, tuple[float, str, int | None]], done: asyncio.Event) -> None:
    """Note when each mail's parse job committed: on every doorbell, read the mails handled since."""
    redis = aioredis.from_url(redis_url)
    pubsub = redis.pubsub()
    await pubsub.psubscribe("*")
    floor = 0
    try:
        while not done.is_set():
            await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
            while await pubsub.get_message(ignore_subscribe_messages=True, timeout=0):
                pass  # one read for all the doorbells that rang meanwhile
            now = time.monotonic()
            # the floor for the next round is read first: a mail handled in between is read again then
            next_floor = await owner.fetchval(NEXT_FLOOR, org_id, floor)
            for row in await owner.fetch(HANDLED, org_id, floor):
                mid = (row["message_id"] or "").strip("<>")
                if mid in expected and mid not in handled:
                    handled[mid] = (now, row["state"], row["conversation_id"])
            floor = next_floor
            if handled.keys() >= expected:
                break
    finally:
        await pubsub.aclose()
        await redis.aclose()


async def print_statements(port: int) -> None:
    """PostgreSQL's costliest statements of the run (needs SAMSYN_PG_OPTIONS with pg_stat_statements)."""
    admin = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{port}/samsyn")
    await admin.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    rows = await admin.fetch("""SELECT calls, total_exec_time, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) AS q
                                FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 15""")
    print("costliest statements (total ms, calls, statement):")
    for r in rows:
        print(f"  {r['total_exec_time']:9.0f} {r['calls']:7} {r['q']}")
    await admin.close()


def start(module: str, env: dict, log: Path) -> subprocess.Popen:
    """A product process as the Procfile runs it; its log lines go to a file (a full pipe would stall it)."""
    return subprocess.Popen([sys.executable, "-m", module], cwd=ROOT, env=env,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)


async def run(args) -> None:
    raws = corpus()
    with throwaway_servers("samsyn-ingest-") as (pg, redis):
        settings = await migrated_settings(pg, redis, secret_key="bench", ingress_domain=INGRESS_DOMAIN,
                                           smtp_port=free_port())
        db = await Database.connect(settings, None)
        org_id = await accounts.create_organization(db, "Ingest AB")
        user_id = await accounts.create_user(db, "lena@ingest.bench", "Lena Holm", "samsyn-bench-password")
        await accounts.add_member(db, org_id, user_id, "admin")
        admin = accounts.Actor(user_id, org_id, "admin", "Lena Holm", "lena@ingest.bench", "sv", "Ingest AB",
                               "Europe/Stockholm")
        channel_id = await channels.create_channel(db, admin, kind="mailbox", name="Kundtjänst", colour="green",
                                                   address="kundtjanst@ingest.bench")
        local = (await channels.get_channel(db, org_id, channel_id))["ingress_local_part"]
        recipient = f"{local}@{INGRESS_DOMAIN}"

        env = {**os.environ, "DATABASE_URL": settings.database_url, "DATABASE_OWNER_URL": settings.database_owner_url,
               "REDIS_URL": settings.redis_url, "SECRET_KEY": "bench", "SMTP_HOST": "127.0.0.1",
               "SMTP_PORT": str(settings.smtp_port), "INGRESS_DOMAIN": INGRESS_DOMAIN,
               "SMTP_RELAY_PORT": str(free_port())}
        smtp, worker = start("workers.smtp", env, pg.root / "smtp.log"), start("workers.worker", env,
                                                                                pg.root / "worker.log")
        owner = await asyncpg.connect(settings.database_owner_url)
        try:
            deadline = time.monotonic() + 30
            while not port_open(settings.smtp_port):
                if smtp.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"the smtp process did not start: {(pg.root / 'smtp.log').read_text()[-2000:]}")
                await asyncio.sleep(0.1)

            # Warm-up: one pass of a few mails through both processes, not counted.
            warm = [(f"warm-{i}@bench.invalid", with_message_id(raws[i % len(raws)], f"warm-{i}@bench.invalid"))
                    for i in range(20)]
            accepted: dict[str, float] = {}
            refused: dict[str, str] = {}
            await send_all(settings.smtp_port, recipient, warm, 2, 0, accepted, refused)
            handled: dict[str, tuple[float, str, int | None]] = {}
            await asyncio.wait_for(watch(owner, settings.redis_url, org_id, set(accepted), handled,
                                         asyncio.Event()), 120)

            mails = [(f"bench-{i}@bench.invalid", with_message_id(raws[i % len(raws)], f"bench-{i}@bench.invalid"))
                     for i in range(args.mails)]
            size = sum(len(data) for _, data in mails)
            accepted, refused, handled = {}, {}, {}
            cpu_before = (cpu_seconds(smtp.pid), cpu_seconds(worker.pid), postgres_cpu(pg.data_dir),
                          resource.getrusage(resource.RUSAGE_SELF), machine_busy())
            done = asyncio.Event()
            watcher = asyncio.create_task(watch(owner, settings.redis_url, org_id,
                                                {mid for mid, _ in mails}, handled, done))
            began = time.monotonic()
            await send_all(settings.smtp_port, recipient, mails, args.connections, args.rate, accepted, refused)
            sent_at = time.monotonic()
            expected = set(accepted)
            try:
                while handled.keys() < expected and time.monotonic() - sent_at < args.timeout:
                    await asyncio.sleep(0.2)
            finally:
                done.set()
                watcher.cancel()
            ended = max((t for t, _, _ in handled.values()), default=sent_at)
            self_after = resource.getrusage(resource.RUSAGE_SELF)
            cpu = {"smtp": cpu_seconds(smtp.pid) - cpu_before[0], "worker": cpu_seconds(worker.pid) - cpu_before[1],
                   "postgres": postgres_cpu(pg.data_dir) - cpu_before[2],
                   "sender (this process)": (self_after.ru_utime + self_after.ru_stime)
                   - (cpu_before[3].ru_utime + cpu_before[3].ru_stime),
                   "whole machine": machine_busy() - cpu_before[4]}

            queue_ids = {r["id"] for r in await conversations.queue(db, org_id, limit=args.mails * 2)}
            if args.statements:
                await print_statements(pg.port)
        finally:
            await owner.close()
            for proc in (smtp, worker):
                proc.terminate()
            for proc in (smtp, worker):
                proc.wait(30)
            await db.close()

    latencies = [(handled[mid][0] - accepted[mid]) * 1000 for mid in accepted if mid in handled]
    states: dict[str, int] = {}
    for _, state, _ in handled.values():
        states[state] = states.get(state, 0) + 1
    cases = {cid for _, state, cid in handled.values() if state == "parsed"}
    wall = ended - began
    print(f"corpus: {len(raws)} files; sent {args.mails} mails ({size / 1e6:.1f} MB) over {args.connections} "
          f"connections, offered rate {'as fast as taken' if not args.rate else f'{args.rate:g}/s'}")
    print(f"accepted (250): {len(accepted)}, refused: {len(refused)} {sorted(set(refused.values()))[:3]}")
    print(f"handled by the worker: {len(handled)} of {len(accepted)}; {states}")
    print(f"throughput: {len(handled) / wall:.0f} mails/s handled (first send to last handled {wall:.1f} s); "
          f"SMTP alone took them at {len(accepted) / (sent_at - began):.0f} mails/s")
    if latencies:
        print(f"latency 250 → handled: p50 {pct(latencies, 50):.0f} ms, p99 {pct(latencies, 99):.0f} ms, "
              f"max {max(latencies):.0f} ms")
    print(f"cases: {len(cases)}, of which the dashboard's query returns {len(cases & queue_ids)}")
    print("CPU seconds: " + ", ".join(f"{name} {secs:.1f}" for name, secs in cpu.items())
          + f" (over {wall:.1f} s on {os.cpu_count()} cores)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mails", type=int, default=2000, help="mails to send (the corpus round-robin)")
    parser.add_argument("--connections", type=int, default=4, help="SMTP sessions sending at once")
    parser.add_argument("--rate", type=float, default=0, help="offered mails per second; 0: as fast as taken")
    parser.add_argument("--statements", action="store_true",
                        help="print the costliest SQL (run with SAMSYN_PG_OPTIONS='-c shared_preload_libraries="
                             "pg_stat_statements')")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the worker after sending")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
