"""Operations from the command line: `python -m app.manage migrate | seed-demo | score-sentiment`."""
from __future__ import annotations

import argparse
import asyncio
import sys

from app.config import Settings
from app.db import Database, StartupError, migrate, role_of


async def _migrate(settings: Settings) -> None:
    try:
        applied = await migrate(settings.database_owner_url, role_of(settings.database_url))
    except OSError as exc:
        raise StartupError(f"cannot reach PostgreSQL at DATABASE_OWNER_URL: {exc}") from exc
    print(f"migrations applied: {', '.join(applied) or 'none (up to date)'}")


async def _with_database(settings: Settings, work):
    db = await Database.connect(settings, redis=None)
    try:
        return await work(db)
    finally:
        await db.close()


async def _seed(settings: Settings) -> None:
    from app import demo

    created = await _with_database(settings, demo.seed)
    print("demo organisation created" if created else "demo organisation already present")


async def _score(settings: Settings) -> None:
    from app import barometer  # the customer barometer (issue 10): existing data scored now

    print(f"customer messages scored: {await _with_database(settings, barometer.score_all)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.manage")
    parser.add_argument("command", choices=["migrate", "seed-demo", "score-sentiment"])
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    try:
        command = {"migrate": _migrate, "seed-demo": _seed, "score-sentiment": _score}[args.command]
        asyncio.run(command(settings))
    except StartupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
