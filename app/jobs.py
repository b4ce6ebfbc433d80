"""Durable jobs: work that must happen after a change commits (parse a mail, send a reply).

A job is enqueued in the transaction of the change that needs it, so it exists exactly when that
change committed. Workers (workers/worker.py) claim due jobs across organisations with FOR UPDATE
SKIP LOCKED and hold each under a lease: a worker that dies loses the job to another once the lease
expires. A job that fails is queued again with exponential back-off; after max_attempts it is
'failed' with its last error kept, for the page that shows it ("not sent yet / failed").
A job's own state changes append no event: no page shows the jobs table itself.
"""
from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from app.db import Database, Tx

log = logging.getLogger(__name__)

BACKOFF_FIRST_SECONDS = 5
BACKOFF_MAX_SECONDS = 3600

ENQUEUE = """
INSERT INTO jobs (org_id, kind, payload, run_at, max_attempts)
VALUES ($1, $2, $3, COALESCE($4, now()), $5)
RETURNING id
"""

CLAIM = "SELECT * FROM claim_jobs($1, $2, $3, $4)"

# Each of these changes a job only while this claim holds it: same worker, same attempt, still
# running. A worker whose lease expired and whose job another took changes nothing.
HELD = "org_id = $1 AND id = $2 AND state = 'running' AND locked_by = $3 AND attempts = $4"

FINISH = f"""
UPDATE jobs SET state = 'done', finished_at = now(), locked_until = NULL
WHERE {HELD}
"""

RETRY = f"""
UPDATE jobs SET state = 'queued', run_at = now() + make_interval(secs => $5), last_error = $6,
                locked_until = NULL, locked_by = NULL
WHERE {HELD}
"""

GIVE_UP = f"""
UPDATE jobs SET state = 'failed', finished_at = now(), last_error = $5, locked_until = NULL
WHERE {HELD}
"""

EXTEND = f"""
UPDATE jobs SET locked_until = now() + make_interval(secs => $5)
WHERE {HELD}
"""

STATE = """
SELECT id, kind, state, attempts, max_attempts, run_at, last_error, created_at, finished_at
FROM jobs WHERE org_id = $1 AND id = $2
"""


@dataclass(frozen=True)
class Job:
    """One claim of a job by one worker: what the handler needs, and what proves the claim."""

    id: int
    org_id: int
    kind: str
    payload: dict
    attempts: int
    max_attempts: int
    worker: str


async def enqueue(tx: Tx, kind: str, payload: dict, *, run_at: datetime | None = None,
                  max_attempts: int = 5) -> int:
    """Queue a job in the caller's transaction and organisation; returns its id."""
    if tx.org_id is None:
        raise RuntimeError("jobs belong to an organisation: open the transaction with org_id")
    return await tx.fetchval(ENQUEUE, tx.org_id, kind, payload, run_at, max_attempts)


GaveUp = Callable[[Job, str], Awaitable[None]]


async def claim(db: Database, kinds: list[str], worker: str, lease_seconds: int, limit: int = 1,
                *, gave_up: GaveUp | None = None) -> list[Job]:
    """Take up to `limit` due jobs of these kinds, from any organisation, under a lease for `worker`.

    A job claimed once more than allowed is failed instead of returned, and `gave_up` is told.
    """
    if not kinds:
        return []
    async with db.transaction(None) as tx:
        rows = await tx.fetch(CLAIM, list(kinds), worker, lease_seconds, limit)
    jobs = [Job(r["id"], r["org_id"], r["kind"], r["payload"], r["attempts"], r["max_attempts"], worker)
            for r in rows]
    # Claimed once more than allowed: its last attempt's worker died (the job may be what killed it).
    for job in [j for j in jobs if j.attempts > j.max_attempts]:
        error = "lease expired on the last attempt: the worker stopped while running it"
        if await fail(db, job, error) and gave_up is not None:
            await gave_up(job, error)
    return [j for j in jobs if j.attempts <= j.max_attempts]


async def finish(db: Database, job: Job) -> bool:
    """Mark the job done; False when this claim no longer holds it (the lease expired and another took it)."""
    async with db.transaction(job.org_id) as tx:
        return await tx.execute(FINISH, job.org_id, job.id, job.worker, job.attempts) == "UPDATE 1"


def backoff_seconds(attempts: int) -> float:
    """The wait before the next attempt: 5 s doubling per attempt up to an hour, less up to half (jitter)."""
    base = min(BACKOFF_FIRST_SECONDS * 2 ** min(attempts - 1, 30), BACKOFF_MAX_SECONDS)
    # jitter: jobs that failed together (a relay down) do not all come back in the same second
    return base * random.uniform(0.5, 1.0)


async def fail(db: Database, job: Job, error: str) -> bool:
    """Record the error; queue the job again after a back-off, or mark it 'failed' after its last attempt.

    False when this claim no longer holds the job.
    """
    async with db.transaction(job.org_id) as tx:
        if job.attempts >= job.max_attempts:
            status = await tx.execute(GIVE_UP, job.org_id, job.id, job.worker, job.attempts, error)
        else:
            status = await tx.execute(RETRY, job.org_id, job.id, job.worker, job.attempts,
                                      backoff_seconds(job.attempts), error)
    return status == "UPDATE 1"


PRUNE = "SELECT prune_jobs($1)"


async def prune(db: Database, keep_days: int = 7) -> int:
    """Delete jobs that ended (done or failed) more than `keep_days` ago, in every organisation."""
    async with db.transaction(None) as tx:
        return await tx.fetchval(PRUNE, keep_days)


async def extend(db: Database, job: Job, lease_seconds: int) -> bool:
    """Renew the lease of a long job from now; False when it was lost (stop working on the job)."""
    async with db.transaction(job.org_id) as tx:
        return await tx.execute(EXTEND, job.org_id, job.id, job.worker, job.attempts, lease_seconds) == "UPDATE 1"


async def job_state(db: Database, org_id: int, job_id: int):
    """A job's state, attempts, next run and last error, for the page that shows it; NotFound if none."""
    return await db.read_one(org_id, STATE, org_id, job_id)
