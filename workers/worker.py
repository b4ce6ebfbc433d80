"""The worker process, `python -m workers.worker`: runs durable jobs (app/jobs.py) until SIGTERM.

Any number may run, on any number of hosts: each claims due jobs of the kinds it has handlers
for, runs them one at a time with a timeout per kind, and marks them done or failed. A handler
that raises fails its job (retried with back-off) and the loop goes on. SIGTERM or SIGINT: no
new claims, the running job is finished, exit 0; a job cut off harder is taken again once its
lease expires.

Sweeps are the worker's periodic duties (prune ended jobs, later: follow-ups coming due, IMAP
mailboxes to poll). Every worker runs each sweep at its interval, so a sweep must be safe to run in
several processes at once (it claims what it takes with SKIP LOCKED or a conditional UPDATE).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

from app import barometer, followups, jobs, logs, visitor_mail
from app.config import Settings
from app.db import Database, StartupError
from app.jobs import Job
from app.mail import account_mail, imap, outgoing, receive

log = logging.getLogger("workers.worker")

Handler = Callable[[Database, Job], Awaitable[None]]
GiveUp = Callable[[Database, Job, str], Awaitable[None]]
Sweep = Callable[[Database], Awaitable[int]]

# Job kind → the domain function that does it. A handler must be safe to run twice (a job runs again
# when its worker dies before recording it done) and must not block the event loop (parse in a
# thread): the timeout below can only stop it at an await.
HANDLERS: dict[str, Handler] = {
    "mail.parse": receive.parse_job,
    "mail.send": outgoing.send_job,
    "account.mail": account_mail.send_job,  # invites and password resets (accounts)
    imap.POLL: imap.poll_job,  # IMAP polling: one mailbox's new mail
    visitor_mail.JOB: visitor_mail.send_job,  # forum moves (issue 8): a visitor's confirmation link, new answers
    barometer.JOB: barometer.score_job,  # the customer barometer: score a customer message
}
# Job kind → what to record when its job fails for good (last attempt failed, timed out, or its worker
# died on it), so the change the job was for does not stay "pending" forever.
GIVE_UP: dict[str, GiveUp] = {
    "mail.send": outgoing.send_gave_up,
    "account.mail": account_mail.gave_up,  # an invite's mail shows failed (accounts)
}
# Sweep name → (interval in seconds, the domain function; it returns how much it did, for the log).
SWEEPS: dict[str, tuple[float, Sweep]] = {
    "jobs.prune": (3600.0, jobs.prune),
    "mail.imap_schedule": (5.0, imap.schedule),  # IMAP polling: queue the polls that are due
    "follow_ups.due": (15.0, followups.sweep),  # a due follow-up notifies within 15 s
    "sentiment.catch_up": (60.0, barometer.sweep),  # the barometer: what no job scored (older data, given up)
}
# seconds per kind, where DEFAULT_TIMEOUT does not suit
TIMEOUTS: dict[str, float] = {
    "mail.send": outgoing.SEND_TIMEOUT_SECONDS + 30,  # outlasts the relay conversation, so its failure is recorded
    "account.mail": outgoing.SEND_TIMEOUT_SECONDS + 30,  # the same relay conversation (accounts)
    imap.POLL: imap.POLL_TIMEOUT_SECONDS,  # up to MAILS_PER_POLL mails fetched and stored one by one
    visitor_mail.JOB: outgoing.SEND_TIMEOUT_SECONDS + 30,  # the same relay conversation (forum moves)
}
DEFAULT_TIMEOUT = 60.0
# The lease outlasts the longest timeout, so a healthy worker never loses a job it is running.
LEASE_MARGIN_SECONDS = 30
IDLE_SECONDS = 0.5
RETRY_SECONDS = 5  # after PostgreSQL failed us, not a log line every half second
# One job per claim; a process runs `slots` claim loops side by side (Settings.worker_slots).
BATCH = 1


def worker_name() -> str:
    """Who holds a job (jobs.locked_by): host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def lease_seconds(handlers: dict[str, Handler], timeouts: dict[str, float]) -> int:
    """The lease to claim under: the longest timeout among these kinds, plus a margin."""
    longest = max((timeouts.get(kind, DEFAULT_TIMEOUT) for kind in handlers), default=DEFAULT_TIMEOUT)
    return int(longest) + LEASE_MARGIN_SECONDS


async def _gave_up(db: Database, job: Job, error: str, give_up: dict[str, GiveUp]) -> None:
    if (hook := give_up.get(job.kind)) is not None:
        await hook(db, job, error)


async def run_job(db: Database, handler: Handler, job: Job, timeout: float,
                  give_up: dict[str, GiveUp] | None = None) -> None:
    """Run one claimed job and record how it ended."""
    fields = {"job_id": job.id, "org_id": job.org_id, "kind": job.kind, "attempt": job.attempts}
    try:
        async with asyncio.timeout(timeout) as deadline:
            await handler(db, job)
    except Exception as exc:  # noqa: BLE001 - any handler fault fails its job, never the worker
        error = f"timed out after {timeout:g} s" if deadline.expired() else repr(exc)
        held = await jobs.fail(db, job, error)
        final = job.attempts >= job.max_attempts
        log.warning("job failed", exc_info=not deadline.expired(),
                    extra={**fields, "error": error, "final": final, "lease_lost": not held})
        if held and final:
            await _gave_up(db, job, error, GIVE_UP if give_up is None else give_up)
        return
    if not await jobs.finish(db, job):
        log.warning("job done after its lease expired; another worker has taken it", extra=fields)


async def run_once(db: Database, handlers: dict[str, Handler], worker: str, *,
                   timeouts: dict[str, float] | None = None, give_up: dict[str, GiveUp] | None = None,
                   limit: int = BATCH) -> int:
    """Claim up to `limit` due jobs of the handlers' kinds and run them; returns how many ran."""
    timeouts = TIMEOUTS if timeouts is None else timeouts
    give_up = GIVE_UP if give_up is None else give_up

    async def gave_up(job: Job, error: str) -> None:
        await _gave_up(db, job, error, give_up)

    claimed = await jobs.claim(db, list(handlers), worker, lease_seconds(handlers, timeouts), limit,
                               gave_up=gave_up)
    await asyncio.gather(*(run_job(db, handlers[job.kind], job, timeouts.get(job.kind, DEFAULT_TIMEOUT), give_up)
                           for job in claimed))
    return len(claimed)


async def run_sweeps(db: Database, sweeps: dict[str, tuple[float, Sweep]], last_run: dict[str, float]) -> None:
    """Run each sweep whose interval has passed since `last_run` (monotonic seconds, updated here)."""
    now = asyncio.get_running_loop().time()
    for name, (interval, sweep) in sweeps.items():
        if now - last_run.get(name, -interval) < interval:
            continue
        last_run[name] = now
        try:
            if done := await sweep(db):
                log.info("sweep did work", extra={"sweep": name, "count": done})
        except Exception:  # noqa: BLE001 - a failing sweep is logged and tried again at its next interval
            log.exception("sweep failed", extra={"sweep": name})


async def run(db: Database, handlers: dict[str, Handler], worker: str, stop: asyncio.Event, *,
              timeouts: dict[str, float] | None = None, sweeps: dict[str, tuple[float, Sweep]] | None = None,
              slots: int = 1) -> None:
    """Run jobs in `slots` loops side by side, and the sweeps, until `stop` is set."""
    sweeps = SWEEPS if sweeps is None else sweeps
    await asyncio.gather(*(_loop(db, handlers, worker, stop, timeouts, sweeps if slot == 0 else {})
                           for slot in range(slots)))


async def _loop(db: Database, handlers: dict[str, Handler], worker: str, stop: asyncio.Event,
                timeouts: dict[str, float] | None, sweeps: dict[str, tuple[float, Sweep]]) -> None:
    """One claim loop: a job at a time, sleeping briefly when there is none."""
    last_run: dict[str, float] = {}
    while not stop.is_set():
        await run_sweeps(db, sweeps, last_run)
        try:
            if await run_once(db, handlers, worker, timeouts=timeouts):
                continue
            pause = IDLE_SECONDS
        except Exception:  # noqa: BLE001 - PostgreSQL away: try again; claimed jobs return when leases expire
            log.exception("claiming or recording jobs failed")
            pause = RETRY_SECONDS
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), pause)


async def serve(settings: Settings, handlers: dict[str, Handler]) -> None:
    """Connect, run jobs until SIGTERM or SIGINT, disconnect."""
    outgoing.configure(settings)  # the relay replies go through (handlers get only the database and the job)
    account_mail.configure(settings)  # links in invites, reset mails and visitors' mail are signed when sent
    imap.configure(settings)  # the key that decrypts IMAP passwords, the poll interval
    # Redis carries the events that handlers' changes publish after commit, as in the web process.
    redis = aioredis.from_url(settings.redis_url, socket_timeout=1, socket_connect_timeout=1)
    try:
        db = await Database.connect(settings, redis)
    except StartupError:
        await redis.aclose()
        raise
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    name = worker_name()
    log.info("worker started", extra={"worker": name, "kinds": sorted(handlers)})
    try:
        await run(db, handlers, name, stop, slots=settings.worker_slots)
    finally:
        await db.close()
        await redis.aclose()
    log.info("worker stopped", extra={"worker": name})


def main() -> int:
    logs.configure()
    try:
        asyncio.run(serve(Settings.from_env(), HANDLERS))
    except StartupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
