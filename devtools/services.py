"""Real PostgreSQL and Redis servers for development and tests, started from the machine's binaries.

`make run` keeps its servers under var/; the test suite starts its own in a temporary directory
on free ports, so a running demo and the tests never share data.
"""
from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

APT_PACKAGES = {"postgres": "postgresql", "redis": "redis-server", "dovecot": "dovecot-imapd"}


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


def dovecot_binary() -> str:
    if not shutil.which("dovecot") or not Path("/usr/lib/dovecot/imap").exists():
        _apt_install(APT_PACKAGES["dovecot"])
    return shutil.which("dovecot") or sys.exit("dovecot not found after installing")


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


def _terminate(pid_file: Path) -> None:
    """SIGTERM to the server whose pid the file holds, then wait up to 5 s for it to go."""
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, signal.SIGTERM)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
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
        # SAMSYN_PG_OPTIONS adds server options, e.g. for a benchmark's profile (bench/README.md).
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories='' "
                   "-c fsync=on -c max_connections=200 " + os.environ.get("SAMSYN_PG_OPTIONS", ""))
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
        _terminate(self.pid_file)


DOVECOT_CONF = """\
# A private IMAP server for the tests of IMAP polling: loopback, users from a file per user,
# plain IMAP (and with a certificate, STARTTLS there and implicit TLS on a second port).
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
default_login_user = dovenull
default_internal_user = dovecot
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users/%u
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
"""


@dataclass
class DovecotServer:
    """Debian's Dovecot with a config of its own in `root`, serving IMAP on 127.0.0.1:`port`."""

    root: Path
    port: int
    tls_port: int = 0  # with a certificate: implicit TLS here
    certificate: tuple[Path, Path] | None = None  # (certificate, key) in PEM

    @property
    def conf(self) -> Path:
        return self.root / "dovecot.conf"

    def add_user(self, name: str, password: str) -> None:
        """A mail account. A file per user: Dovecot looks at a changed file at most once a second,
        so a user added to one shared file could go unseen for that second."""
        if not re.fullmatch(r"[a-z0-9-]{1,64}", name):
            raise ValueError(f"user names here are a-z, 0-9 and hyphens: {name!r}")
        path = self.root / "users" / name
        path.write_text(f"{name}:{{PLAIN}}{password}\n")
        os.chmod(path, 0o644)

    def start(self) -> None:
        binary = dovecot_binary()
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)  # the mail user must traverse it
        user, group = ("nobody", "nogroup") if os.geteuid() == 0 else (str(os.getuid()), str(os.getgid()))
        for sub in ("mail", "home"):
            (self.root / sub).mkdir(exist_ok=True)
            if os.geteuid() == 0:
                shutil.chown(self.root / sub, "nobody", "nogroup")
        (self.root / "users").mkdir(exist_ok=True)
        ssl = (f"ssl = yes\nssl_cert = <{self.certificate[0]}\nssl_key = <{self.certificate[1]}"
               if self.certificate else "ssl = no")
        self.conf.write_text(DOVECOT_CONF.format(root=self.root, port=self.port, user=user, group=group, ssl=ssl,
                                                 tls_port=self.tls_port if self.certificate else 0))
        subprocess.run([binary, "-c", str(self.conf)], check=True)
        if not _wait_for_port(self.port, 10):
            raise RuntimeError(f"dovecot did not start on port {self.port}; see {self.root}/dovecot.log")

    def stop(self) -> None:
        _terminate(self.root / "run" / "master.pid")


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


async def start_server(config):
    """Serve `config` (a uvicorn.Config) in this event loop, as tests and benchmarks do; returns what stops it."""
    import asyncio

    import uvicorn

    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # it could not start: say why
        await asyncio.sleep(0.02)

    async def stop() -> None:
        server.should_exit = True
        await task

    return stop


@contextlib.contextmanager
def kept_servers(directory: str | Path):
    """PostgreSQL and Redis on free ports with their data in `directory`, kept there for the next run."""
    root = Path(directory).resolve()
    pg, redis = PostgresServer(root, free_port()), RedisServer(root, free_port())
    try:
        pg.start()
        redis.start()
        yield pg, redis
    finally:
        redis.stop()
        pg.stop()


@contextlib.contextmanager
def throwaway_servers(prefix: str):
    """PostgreSQL and Redis on free ports in a temporary directory, removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        with kept_servers(root) as servers:
            yield servers
    finally:
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
