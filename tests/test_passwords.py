"""argon2 runs off the event loop, a bounded number at a time."""
from __future__ import annotations

import asyncio
import threading
import time

import pytest

from app import passwords
from app.errors import Invalid


async def test_hashing_and_verifying_never_run_on_the_event_loop_thread(monkeypatch):
    loop_thread = threading.get_ident()
    threads = []
    real_verify = passwords._verify

    def spying(password_hash, password):
        threads.append(threading.get_ident())
        return real_verify(password_hash, password)

    monkeypatch.setattr(passwords, "_verify", spying)
    stored = await passwords.hash_password("rätt lösenord här")
    assert await passwords.verify(stored, "rätt lösenord här")
    assert not await passwords.verify(stored, "fel lösenord här")
    assert not await passwords.verify(None, "vad som helst"), "an unknown account never matches"
    assert threads and loop_thread not in threads


async def test_at_most_a_few_verifications_run_at_once_while_the_loop_stays_free(monkeypatch):
    running, most, beats_while_verifying = 0, 0, 0
    lock = threading.Lock()

    def slow(password_hash, password):
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)  # stands in for argon2's CPU time, on the worker thread
        with lock:
            running -= 1
        return False

    monkeypatch.setattr(passwords, "_verify", slow)

    async def heartbeat():
        nonlocal beats_while_verifying
        while True:
            beats_while_verifying += running > 0  # only possible if verifying leaves the loop free
            await asyncio.sleep(0.005)

    beat = asyncio.create_task(heartbeat())
    await asyncio.gather(*(passwords.verify(None, "gissning") for _ in range(30)))
    beat.cancel()
    assert 1 <= most <= passwords.MAX_CONCURRENT
    assert beats_while_verifying > 0


@pytest.mark.parametrize("password", ["kort", "x" * (passwords.MAX_LENGTH + 1)])
async def test_new_passwords_that_are_too_short_or_absurdly_long_are_refused(password):
    with pytest.raises(Invalid):
        await passwords.hash_password(password)
