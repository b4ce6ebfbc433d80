"""Durable jobs: claimed once, taken again after a crash, retried with back-off, failed at last."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from pathlib import Path

import pytest

from app import jobs
from app.errors import NotFound
from tests.factories import make_org
from workers import worker

ROOT = Path(__file__).resolve().parent.parent


def unique_kind() -> str:
    # claims cross organisations, so each test claims only a kind of its own
    return f"test.{uuid.uuid4().hex[:10]}"


async def enqueue(db, org_id: int, kind: str, payload: dict | None = None, **options) -> int:
    async with db.transaction(org_id) as tx:
        return await jobs.enqueue(tx, kind, payload or {}, **options)


async def make_due_now(db, org_id: int, job_id: int) -> None:
    """Skip a job's back-off, as the passing of time would."""
    async with db.transaction(org_id) as tx:
        await tx.execute("UPDATE jobs SET run_at = now() WHERE org_id = $1 AND id = $2", org_id, job_id)


async def test_two_workers_never_claim_the_same_job(db):
    org_id = (await make_org(db)).actor.org_id
    kind = unique_kind()
    enqueued = [await enqueue(db, org_id, kind, {"n": n}) for n in range(60)]

    async def claimer(name: str) -> list[int]:
        taken = []
        while batch := await jobs.claim(db, [kind], name, lease_seconds=60, limit=3):
            taken += [job.id for job in batch]
        return taken

    claimed = await asyncio.gather(*(claimer(f"worker-{i}") for i in range(6)))
    every_claim = [job_id for taken in claimed for job_id in taken]
    assert sorted(every_claim) == sorted(enqueued), "each job claimed exactly once"


async def test_a_crashed_workers_job_is_taken_again_once_its_lease_expires(db):
    org_id = (await make_org(db)).actor.org_id
    kind = unique_kind()
    job_id = await enqueue(db, org_id, kind)
    [crashed] = await jobs.claim(db, [kind], "worker-crashed", lease_seconds=3)
    assert (crashed.id, crashed.attempts) == (job_id, 1)
    assert await jobs.claim(db, [kind], "worker-other", lease_seconds=60) == [], "held while the lease runs"
    await asyncio.sleep(3.5)
    [taken] = await jobs.claim(db, [kind], "worker-other", lease_seconds=60)
    assert (taken.id, taken.attempts) == (job_id, 2)
    assert "worker-crashed" in (await jobs.job_state(db, org_id, job_id))["last_error"]
    assert not await jobs.finish(db, crashed), "the first worker, back to life, no longer holds the job"
    assert await jobs.finish(db, taken)
    state = await jobs.job_state(db, org_id, job_id)
    assert (state["state"], state["attempts"]) == ("done", 2) and state["finished_at"] is not None


async def test_a_long_job_that_extends_its_lease_keeps_it(db):
    org_id = (await make_org(db)).actor.org_id
    kind = unique_kind()
    await enqueue(db, org_id, kind)
    [job] = await jobs.claim(db, [kind], "worker-slow", lease_seconds=2)
    assert await jobs.extend(db, job, 60)
    await asyncio.sleep(2.5)
    assert await jobs.claim(db, [kind], "worker-other", lease_seconds=60) == []
    assert await jobs.finish(db, job)


async def test_a_failing_job_retries_with_back_off_then_fails_and_others_go_on(db):
    org_id = (await make_org(db)).actor.org_id
    poison_kind, good_kind = unique_kind(), unique_kind()
    done = []

    async def crash(db, job):
        raise ValueError("unparseable mail")

    async def work(db, job):
        done.append(job.payload["n"])

    handlers = {poison_kind: crash, good_kind: work}
    poison = await enqueue(db, org_id, poison_kind, max_attempts=3)
    for n in range(3):
        await enqueue(db, org_id, good_kind, {"n": n})

    assert await worker.run_once(db, handlers, "worker-1") == 1  # the poison job, first in line
    state = await jobs.job_state(db, org_id, poison)
    assert (state["state"], state["attempts"]) == ("queued", 1)
    assert "unparseable mail" in state["last_error"]
    async with db.transaction(org_id, readonly=True) as tx:
        wait = await tx.fetchval("SELECT extract(epoch FROM run_at - now()) FROM jobs WHERE org_id = $1 AND id = $2",
                                 org_id, poison)
    assert 0 < wait <= 5, "the first retry waits 2.5-5 s (jitter), less the time since"

    while await worker.run_once(db, handlers, "worker-1"):
        pass
    assert sorted(done) == [0, 1, 2], "the other jobs ran while the poison job waited"

    for attempt in (2, 3):
        await make_due_now(db, org_id, poison)
        assert await worker.run_once(db, handlers, "worker-1") == 1
        assert (await jobs.job_state(db, org_id, poison))["attempts"] == attempt
    state = await jobs.job_state(db, org_id, poison)
    assert (state["state"], state["attempts"]) == ("failed", 3)
    assert "unparseable mail" in state["last_error"] and state["finished_at"] is not None
    await make_due_now(db, org_id, poison)
    assert await worker.run_once(db, handlers, "worker-1") == 0, "a failed job is never claimed again"


def test_back_off_doubles_per_attempt_with_jitter_up_to_an_hour():
    for attempts in range(1, 40):
        full = min(5 * 2 ** (attempts - 1), 3600)
        waits = [jobs.backoff_seconds(attempts) for _ in range(50)]
        assert all(full / 2 <= w <= full for w in waits), attempts
        assert len(set(waits)) > 1, "jittered, so jobs that failed together do not return together"


async def test_a_job_that_runs_past_its_timeout_fails_and_is_retried(db):
    org_id = (await make_org(db)).actor.org_id
    kind = unique_kind()

    async def hang(db, job):
        await asyncio.sleep(60)

    job_id = await enqueue(db, org_id, kind)
    assert await worker.run_once(db, {kind: hang}, "worker-1", timeouts={kind: 0.2}) == 1
    state = await jobs.job_state(db, org_id, job_id)
    assert (state["state"], state["attempts"], state["last_error"]) == ("queued", 1, "timed out after 0.2 s")


async def test_a_job_whose_worker_dies_on_its_last_attempt_ends_failed(db):
    org_id = (await make_org(db)).actor.org_id
    kind = unique_kind()
    job_id = await enqueue(db, org_id, kind, max_attempts=1)
    await jobs.claim(db, [kind], "worker-killed", lease_seconds=1)  # e.g. the mail it parses kills it
    await asyncio.sleep(1.5)
    assert await jobs.claim(db, [kind], "worker-other", lease_seconds=60) == [], "not run once more"
    state = await jobs.job_state(db, org_id, job_id)
    assert state["state"] == "failed" and "lease expired" in state["last_error"]


async def test_a_job_exists_only_if_its_transaction_committed(db):
    org_id = (await make_org(db)).actor.org_id
    kind = unique_kind()
    with pytest.raises(RuntimeError):
        async with db.transaction(org_id) as tx:
            await jobs.enqueue(tx, kind, {"mail": 1})
            raise RuntimeError("the change that needed the job failed")
    kept = await enqueue(db, org_id, kind, {"mail": 2})
    async with db.transaction(org_id, readonly=True) as tx:
        rows = await tx.fetch("SELECT id, payload, state FROM jobs WHERE org_id = $1 AND kind = $2", org_id, kind)
    assert [(r["id"], r["payload"], r["state"]) for r in rows] == [(kept, {"mail": 2}, "queued")]


async def test_jobs_of_another_organisation_are_invisible(db):
    ours, theirs = (await make_org(db, "Vår AB")).actor.org_id, (await make_org(db, "Deras AB")).actor.org_id
    kind = unique_kind()
    their_job = await enqueue(db, theirs, kind)
    async with db.transaction(ours) as tx:
        assert await tx.fetchval("SELECT count(*) FROM jobs WHERE kind = $1", kind) == 0  # no org_id filter on purpose
        assert await tx.execute("UPDATE jobs SET state = 'done' WHERE id = $1", their_job) == "UPDATE 0"
    with pytest.raises(NotFound):
        await jobs.job_state(db, ours, their_job)
    [claimed] = await jobs.claim(db, [kind], "worker-1", lease_seconds=60)
    forged = jobs.Job(claimed.id, ours, claimed.kind, {}, claimed.attempts, claimed.max_attempts, claimed.worker)
    assert not await jobs.finish(db, forged), "a job is finished only in its own organisation"
    assert (await jobs.job_state(db, theirs, their_job))["state"] == "running"


async def test_the_worker_loop_runs_jobs_until_told_to_stop(db):
    org_id = (await make_org(db)).actor.org_id
    kind = unique_kind()
    ran = asyncio.Event()

    async def work(db, job):
        ran.set()

    stop = asyncio.Event()
    loop = asyncio.create_task(worker.run(db, {kind: work}, "worker-1", stop))
    await asyncio.sleep(0.1)  # idle first: the job arrives while the worker waits
    job_id = await enqueue(db, org_id, kind)
    await asyncio.wait_for(ran.wait(), 10)
    stop.set()
    await asyncio.wait_for(loop, 10)
    assert (await jobs.job_state(db, org_id, job_id))["state"] == "done"


async def test_the_worker_process_starts_and_stops_cleanly_on_sigterm(db, settings):
    # The product has no job kinds yet, so the process is checked for start and stop; running jobs is
    # run()'s and run_once()'s (above). A job it has no handler for is left alone, as during a deploy.
    org_id = (await make_org(db)).actor.org_id
    job_id = await enqueue(db, org_id, unique_kind())
    env = {**os.environ, "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
           "SECRET_KEY": settings.secret_key}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "workers.worker", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        first = json.loads(await asyncio.wait_for(process.stdout.readline(), 30))
        assert first["msg"] == "worker started" and first["kinds"] == sorted(worker.HANDLERS)
        await asyncio.sleep(1)  # a few rounds of claiming
        process.send_signal(signal.SIGTERM)
        rest = (await asyncio.wait_for(process.stdout.read(), 30)).decode()
        assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert json.loads(rest.splitlines()[-1])["msg"] == "worker stopped"
    state = await jobs.job_state(db, org_id, job_id)
    assert (state["state"], state["attempts"]) == ("queued", 0)


async def test_a_job_that_fails_for_good_tells_its_kinds_give_up_hook_once(db):
    org_id = (await make_org(db)).actor.org_id
    kind = unique_kind()
    told: list[tuple[int, str]] = []

    async def give_up(db, job, error):
        told.append((job.id, error))

    async def hang(db, job):
        await asyncio.sleep(60)

    timed_out = await enqueue(db, org_id, kind, max_attempts=1)
    await worker.run_once(db, {kind: hang}, "worker-1", timeouts={kind: 0.2}, give_up={kind: give_up})
    assert told == [(timed_out, "timed out after 0.2 s")], "a timeout on the last attempt is final"

    died = await enqueue(db, org_id, kind, max_attempts=1)
    await jobs.claim(db, [kind], "worker-killed", lease_seconds=1)
    await asyncio.sleep(1.5)
    assert await worker.run_once(db, {kind: hang}, "worker-2", give_up={kind: give_up}) == 0
    assert told[1][0] == died and "lease expired" in told[1][1], "a worker dying on the last attempt is final"

    retried = await enqueue(db, org_id, kind, max_attempts=2)
    await worker.run_once(db, {kind: hang}, "worker-1", timeouts={kind: 0.2}, give_up={kind: give_up})
    assert [job_id for job_id, _ in told] == [timed_out, died], "an attempt that will be retried is not final"
    assert (await jobs.job_state(db, org_id, retried))["state"] == "queued"


async def test_sweeps_run_at_their_interval_and_a_failing_one_stops_nothing(db):
    runs: list[str] = []

    async def often(db):
        runs.append("often")
        return 1

    async def broken(db):
        runs.append("broken")
        raise RuntimeError("a sweep's bug")

    sweeps = {"often": (0.05, often), "broken": (0.05, broken), "rarely": (3600.0, often)}
    last_run: dict[str, float] = {}
    await worker.run_sweeps(db, sweeps, last_run)
    await worker.run_sweeps(db, sweeps, last_run)  # too soon for any
    assert sorted(runs) == ["broken", "often", "often"], "each once at first: 'rarely' too"
    await asyncio.sleep(0.06)
    await worker.run_sweeps(db, sweeps, last_run)
    assert sorted(runs) == ["broken", "broken", "often", "often", "often"], "'rarely' waits its hour"


async def test_pruning_deletes_only_jobs_that_ended_over_a_week_ago(db):
    org_id = (await make_org(db)).actor.org_id
    kind = unique_kind()
    ids = {name: await enqueue(db, org_id, kind) for name in ("old_done", "old_failed", "new_done", "queued")}
    async with db.transaction(org_id) as tx:
        await tx.execute("""UPDATE jobs SET state = CASE WHEN id = $2 THEN 'failed' ELSE 'done' END,
                                            finished_at = now() - interval '8 days'
                            WHERE id = ANY ($1)""", [ids["old_done"], ids["old_failed"]], ids["old_failed"])
        await tx.execute("UPDATE jobs SET state = 'done', finished_at = now() - interval '6 days' WHERE id = $1",
                         ids["new_done"])
    assert await jobs.prune(db) >= 2
    async with db.transaction(org_id, readonly=True) as tx:
        left = await tx.fetch("SELECT id FROM jobs WHERE kind = $1", kind)
    assert sorted(r["id"] for r in left) == sorted([ids["new_done"], ids["queued"]])
