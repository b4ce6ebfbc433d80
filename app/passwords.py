"""argon2 password hashing, off the event loop and bounded.

One argon2id hash costs ~90 ms of CPU and 64 MiB. Run on the event loop, a burst of logins
stalls every other request of the process; run unbounded in threads, it exhausts memory. So
hashing and verifying run on a small thread pool of their own (argon2-cffi releases the GIL),
and at most that many run at once; the rest wait their turn without blocking the loop.
"""
from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.errors import Invalid
from app.i18n import N_

MIN_LENGTH = 10
MAX_LENGTH = 1024  # argon2 takes any length; a megabyte "password" is only a way to burn CPU
# Never more threads than cores: beyond that argon2 only queues inside the OS instead of here.
MAX_CONCURRENT = max(1, min(4, os.cpu_count() or 1))

_hasher = PasswordHasher()
_pool = ThreadPoolExecutor(max_workers=MAX_CONCURRENT, thread_name_prefix="argon2")
# Verified against when the e-mail is unknown, so a wrong address costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("no such account")


def check_new(password: str) -> None:
    """Refuse a new password that is too short or absurdly long, with a message for the person."""
    if len(password or "") < MIN_LENGTH:
        raise Invalid(N_("The password must be at least 10 characters."), "password")
    if len(password) > MAX_LENGTH:
        raise Invalid(N_("The password is too long."), "password")


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def hash_password(password: str) -> str:
    """The argon2id hash of an acceptable new password (Invalid otherwise)."""
    check_new(password)
    return await asyncio.get_running_loop().run_in_executor(_pool, _hasher.hash, password)


async def verify(password_hash: str | None, password: str) -> bool:
    """Whether the password matches; with no hash (unknown account) it costs the same and fails."""
    password = (password or "")[:MAX_LENGTH]
    ok = await asyncio.get_running_loop().run_in_executor(_pool, _verify, password_hash or _DUMMY_HASH, password)
    return ok and password_hash is not None
