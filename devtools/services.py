"""Real PostgreSQL and Redis servers for development and tests, started from the machine's binaries.

`make run` keeps its servers under var/; the test suite starts its own in a temporary directory
on free ports, so a running demo and the tests never share data.
"""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

APT_PACKAGES = {"postgres": "postgresql", "redis": "redis-server"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _apt_install(package: str) -> None:
    if os.geteuid() != 0:
        sys.exit(f"{package} is missing; install it (apt-get install {package}) or run as root")
    print(f"installing {package} with apt-get …", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-q", package], check=True, env=env, stdout=subprocess.DEVNULL)


def postgres_bindir() -> Path:
    """The newest installed PostgreSQL server binaries, installing them when missing."""
    for attempt in range(2):
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
        if found:
            return Path(found[-1]).parent
        if shutil.which("initdb"):
            return Path(shutil.which("initdb")).parent
        if attempt == 0:
            _apt_install(APT_PACKAGES["postgres"])
    sys.exit("PostgreSQL server binaries not found after installing")


def redis_binary() -> str:
    if not shutil.which("redis-server"):
        _apt_install(APT_PACKAGES["redis"])
    return shutil.which("redis-server") or sys.exit("redis-server not found after installing")


def _as_server_user(cmd: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root; run them as nobody then.
    return ["runuser", "-u", "nobody", "--", *cmd] if os.geteuid() == 0 else cmd


def _wait_for_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:  # at least one try, so a timeout of 0 asks once
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)


def port_open(port: int) -> bool:
    return _wait_for_port(port, 0)


@dataclass
class PostgresServer:
    root: Path
    port: int

    @property
    def data_dir(self) -> Path:
        return self.root / "pg"

    @property
    def log_file(self) -> Path:
        return self.root / "pg-log" / "postgres.log"

    def _chown(self, path: Path) -> None:
        if os.geteuid() == 0:
            shutil.chown(path, "nobody", "nogroup")

    def start(self) -> None:
        bindir = postgres_bindir()
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)  # mkdtemp makes 0700; the server user must traverse it
        self.log_file.parent.mkdir(exist_ok=True)
        self._chown(self.log_file.parent)
        if not (self.data_dir / "PG_VERSION").exists():
            self.data_dir.mkdir(exist_ok=True)
            self._chown(self.data_dir)
            subprocess.run(
                _as_server_user([str(bindir / "initdb"), "-D", str(self.data_dir), "-U", "postgres",
                                 "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]),
                check=True, stdout=subprocess.DEVNULL,
            )
        # TCP on loopback only: a Unix socket path in a deep clone can pass the 107-byte limit.
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories='' "
                   "-c fsync=on -c max_connections=200")
        subprocess.run(
            _as_server_user([str(bindir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_file),
                             "-w", "-t", "60", "-o", options, "start"]),
            check=True, stdout=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if not (self.data_dir / "postmaster.pid").exists():
            return
        subprocess.run(
            _as_server_user([str(postgres_bindir() / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"]),
            check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )


@dataclass
class RedisServer:
    root: Path
    port: int

    @property
    def pid_file(self) -> Path:
        return self.root / "redis.pid"

    def start(self) -> None:
        binary = redis_binary()
        (self.root / "redis").mkdir(parents=True, exist_ok=True)
        # No persistence: Redis carries only fan-out and presence, PostgreSQL is the truth.
        subprocess.run(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.root / "redis"), "--daemonize", "yes", "--pidfile", str(self.pid_file),
             "--logfile", str(self.root / "redis" / "redis.log")],
            check=True,
        )
        if not _wait_for_port(self.port, 10):
            raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        try:
            pid = int(self.pid_file.read_text().strip())
            os.kill(pid, signal.SIGTERM)
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


BOOTSTRAP_SQL = """
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{owner}') THEN
    CREATE ROLE {owner} LOGIN CREATEROLE;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{app}') THEN
    CREATE ROLE {app} LOGIN;
  END IF;
END $$;
"""


async def bootstrap_database(admin_dsn: str, database: str, owner: str, app_role: str) -> None:
    """Create the owner role (owns the tables, runs migrations), the app role and the database."""
    import asyncpg

    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(BOOTSTRAP_SQL.format(owner=owner, app=app_role))
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            await conn.execute(f'CREATE DATABASE "{database}" OWNER {owner}')
    finally:
        await conn.close()


@contextlib.contextmanager
def throwaway_servers(prefix: str):
    """PostgreSQL and Redis on free ports in a temporary directory, removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    pg, redis = PostgresServer(root, free_port()), RedisServer(root, free_port())
    try:
        pg.start()
        redis.start()
        yield pg, redis
    finally:
        redis.stop()
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


async def migrated_settings(pg: PostgresServer, redis: RedisServer, **overrides):
    """Settings for a migrated database on these servers (roles and database created as in production)."""
    from app.config import Settings
    from app.db import migrate

    await bootstrap_database(f"postgresql://postgres@127.0.0.1:{pg.port}/postgres", "samsyn", "samsyn", "samsyn_app")
    settings = Settings(
        database_url=f"postgresql://samsyn_app@127.0.0.1:{pg.port}/samsyn",
        database_owner_url=f"postgresql://samsyn@127.0.0.1:{pg.port}/samsyn",
        redis_url=f"redis://127.0.0.1:{redis.port}/0",
        web_port=free_port(),
        **overrides,
    )
    await migrate(settings.database_owner_url, "samsyn_app")
    return settings
