"""Operations from the command line: `python -m app.manage migrate | seed-demo`."""
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


async def _seed(settings: Settings) -> None:
    from app import demo

    db = await Database.connect(settings, redis=None)
    try:
        created = await demo.seed(db)
    finally:
        await db.close()
    print("demo organisation created" if created else "demo organisation already present")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.manage")
    parser.add_argument("command", choices=["migrate", "seed-demo"])
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    try:
        asyncio.run(_migrate(settings) if args.command == "migrate" else _seed(settings))
    except StartupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
