"""Install what the test suite needs on a fresh machine: server binaries and Chromium."""
from __future__ import annotations

import shutil

from devtools.services import _apt_install, postgres_bindir, redis_binary

CHROMIUM = "/usr/bin/chromium"


def chromium() -> str:
    if not shutil.which("chromium"):
        _apt_install("chromium")
    return shutil.which("chromium") or CHROMIUM


if __name__ == "__main__":
    print(f"postgres: {postgres_bindir()}\nredis: {redis_binary()}\nchromium: {chromium()}")
