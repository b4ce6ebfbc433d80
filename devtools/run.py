"""`make run`: local PostgreSQL and Redis under var/, migrations, demo data, then every Procfile process.

Servers already listening on the configured ports are reused and left running; the ones this
command starts are stopped again on Ctrl-C.
"""
from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from app import vault
from app.config import Settings
from app.demo import DEMO_PASSWORD, DEMO_USERS
from devtools.services import PostgresServer, RedisServer, bootstrap_database, port_open

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _secret_key() -> str:
    path = VAR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _mail_password_key() -> str:
    # Kept like the secret key: losing it means admins enter their IMAP passwords again (docs/operations.md).
    path = VAR / "mail_password_key"
    if not path.exists():
        path.write_text(vault.new_key())
        path.chmod(0o600)
    return path.read_text().strip()


def start_services(settings: Settings) -> list:
    """Start the local servers that are configured on loopback and not yet running."""
    started = []
    db = urlsplit(settings.database_url)
    if db.hostname in LOOPBACK and not port_open(db.port or 5432):
        pg = PostgresServer(VAR, db.port or 5432)
        print(f"starting PostgreSQL on 127.0.0.1:{pg.port} (data in var/pg)", flush=True)
        pg.start()
        started.append(pg)
    if db.hostname in LOOPBACK:
        owner = urlsplit(settings.database_owner_url)
        asyncio.run(bootstrap_database(
            f"postgresql://postgres@{db.hostname}:{db.port or 5432}/postgres",
            db.path.lstrip("/"), owner.username, db.username))
    rd = urlsplit(settings.redis_url)
    if rd.hostname in LOOPBACK and not port_open(rd.port or 6379):
        redis = RedisServer(VAR, rd.port or 6379)
        print(f"starting Redis on 127.0.0.1:{redis.port}", flush=True)
        redis.start()
        started.append(redis)
    if settings.smtp_relay_host in LOOPBACK and not port_open(settings.smtp_relay_port):
        started.append(MailCatcher(settings.smtp_relay_port))
    return started


class MailCatcher:
    """Stands in for the outgoing relay: replies sent in the demo are saved under var/outbox/, never delivered."""

    def __init__(self, port: int):
        self.process = subprocess.Popen([sys.executable, "-m", "devtools.mailcatcher", "--port", str(port),
                                         "--dir", str(VAR / "outbox")], cwd=ROOT)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def main() -> int:
    VAR.mkdir(exist_ok=True)
    env = {**os.environ, "SECRET_KEY": os.environ.get("SECRET_KEY") or _secret_key(),
           "MAIL_PASSWORD_KEY": os.environ.get("MAIL_PASSWORD_KEY") or _mail_password_key(),
           # the Procfile's `python` is the project's virtualenv
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    settings = Settings.from_env(env)
    started = start_services(settings)
    try:
        for command in ("migrate", "seed-demo"):
            subprocess.run([sys.executable, "-m", "app.manage", command], env=env, check=True, cwd=ROOT)
        print(f"\nSamsyn runs at {settings.base_url}\nDemo logins (password {DEMO_PASSWORD}):", flush=True)
        for _, name, email, role in DEMO_USERS:
            print(f"  {email:<26} {name} ({role})")
        print("Ctrl-C stops everything.\n", flush=True)
        honcho = subprocess.Popen([str(Path(sys.executable).parent / "honcho"), "start", "-f", "Procfile"],
                                  env=env, cwd=ROOT)
        stopping = []

        def stop(*_):
            stopping.append(True)
            honcho.terminate()

        signal.signal(signal.SIGTERM, stop)
        try:
            code = honcho.wait()
        except KeyboardInterrupt:
            stopping.append(True)
            honcho.terminate()  # Ctrl-C in a terminal reaches honcho too; a lone SIGINT here may not
            code = honcho.wait()
        return 0 if stopping else code
    except subprocess.CalledProcessError as exc:
        return exc.returncode
    finally:
        for server in reversed(started):
            print(f"stopping {type(server).__name__}", flush=True)
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
