"""Settings from the environment, in one place."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

DEFAULT_DATABASE_URL = "postgresql://samsyn_app@127.0.0.1:55432/samsyn"
DEFAULT_DATABASE_OWNER_URL = "postgresql://samsyn@127.0.0.1:55432/samsyn"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6390/0"


def redact(url: str) -> str:
    """A connection URL with its password hidden, for error messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def _tristate(value: str, name: str) -> bool | None:
    """True for true/1/yes/on, False for false/0/no/off, None when empty (the default decides)."""
    value = value.strip().lower()
    if not value:
        return None
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be true or false, not {value!r}")


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    # Owns the tables and runs migrations; the app itself connects as DATABASE_URL's role.
    database_owner_url: str = DEFAULT_DATABASE_OWNER_URL
    redis_url: str = DEFAULT_REDIS_URL
    secret_key: str = ""
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2525
    # Mail for <a mailbox's ingress local part>@ingress_domain is routed to that mailbox.
    ingress_domain: str = "ingress.localhost"
    mail_max_bytes: int = 25 * 1024 * 1024  # the SMTP ingress answers 552 above this
    # Where replies go out (app/mail/outgoing.py), unless a mailbox names its own relay host.
    smtp_relay_host: str = "127.0.0.1"
    smtp_relay_port: int = 2526
    smtp_relay_username: str = ""  # with a password: AUTH at the relay (never sent to a mailbox's own relay)
    smtp_relay_password: str = field(default="", repr=False)
    smtp_relay_starttls: bool | None = None  # None: STARTTLS when the relay offers it; True: required
    # Absolute base URL for links shown to people (invites, password resets).
    public_url: str = ""
    # Cookies get the Secure flag unless the site is served over plain http (local development).
    secure_cookies: bool = False
    db_pool_max: int = 10
    # Jobs one worker process runs at once: parsing runs in threads and sending waits on relays, so
    # a few overlap well; each holds a database connection while it works.
    worker_slots: int = 4
    # Failed logins within the window before answers turn to 429: per e-mail address from one client
    # address, and per client address. Per e-mail address alone (from anywhere) never a 429: past
    # login_slowdown_after failures each attempt waits 0.25 s, doubling up to login_slowdown_max_seconds.
    login_attempts: int = 10
    login_attempts_per_address: int = 50
    login_slowdown_after: int = 10
    login_slowdown_max_seconds: float = 4.0
    login_window_seconds: int = 900  # 15 minutes
    # Addresses (or CIDR networks) of the reverse proxies whose X-Forwarded-For is believed;
    # empty: the client address is the TCP peer's, whatever headers say.
    trusted_proxies: tuple[str, ...] = ()
    # The From of mail the service sends itself (invites, password resets); empty: noreply@ingress_domain.
    mail_from: str = ""
    # "Forgot password" requests within forgot_window_seconds: per e-mail address (past it, no more
    # mail, same answer) and per client address (past it, 429).
    forgot_per_email: int = 3
    forgot_per_client: int = 20
    forgot_window_seconds: int = 3600
    # IMAP polling (app/mail/imap.py): the Fernet key that encrypts mail server passwords at rest
    # (empty: no IMAP password can be saved or used), and how often each mailbox is polled.
    mail_password_key: str = field(default="", repr=False)
    imap_poll_seconds: int = 60
    # Public forum posts (threads, answers, comments) within forum_window_seconds: per client address
    # and per e-mail address the visitor gives; past either, 429 with Retry-After (issue 8).
    forum_posts_per_client: int = 20
    forum_posts_per_email: int = 10
    forum_window_seconds: int = 3600
    # The live layer (realtime/hub.py): how often each socket hears the organisation's latest seq.
    live_heartbeat_seconds: float = 15.0

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.web_host}:{self.web_port}").rstrip("/")

    @property
    def sender_address(self) -> str:
        return self.mail_from or f"noreply@{self.ingress_domain}"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        web_port = int(env.get("WEB_PORT", "8000"))
        public_url = env.get("PUBLIC_URL", "")
        return cls(
            database_url=env.get("DATABASE_URL", DEFAULT_DATABASE_URL),
            database_owner_url=env.get("DATABASE_OWNER_URL", DEFAULT_DATABASE_OWNER_URL),
            redis_url=env.get("REDIS_URL", DEFAULT_REDIS_URL),
            secret_key=env.get("SECRET_KEY", ""),
            web_host=env.get("WEB_HOST", "127.0.0.1"),
            web_port=web_port,
            smtp_host=env.get("SMTP_HOST", "127.0.0.1"),
            smtp_port=int(env.get("SMTP_PORT", "2525")),
            ingress_domain=env.get("INGRESS_DOMAIN", "ingress.localhost").strip().lower(),
            mail_max_bytes=int(env.get("MAIL_MAX_BYTES", str(25 * 1024 * 1024))),
            smtp_relay_host=env.get("SMTP_RELAY_HOST", "127.0.0.1"),
            smtp_relay_port=int(env.get("SMTP_RELAY_PORT", "2526")),
            smtp_relay_username=env.get("SMTP_RELAY_USERNAME", ""),
            smtp_relay_password=env.get("SMTP_RELAY_PASSWORD", ""),
            smtp_relay_starttls=_tristate(env.get("SMTP_RELAY_STARTTLS", ""), "SMTP_RELAY_STARTTLS"),
            public_url=public_url,
            secure_cookies=public_url.startswith("https://"),
            db_pool_max=int(env.get("DB_POOL_MAX", "10")),
            worker_slots=int(env.get("WORKER_SLOTS", "4")),
            login_attempts=int(env.get("LOGIN_ATTEMPTS", "10")),
            login_attempts_per_address=int(env.get("LOGIN_ATTEMPTS_PER_ADDRESS", "50")),
            login_slowdown_after=int(env.get("LOGIN_SLOWDOWN_AFTER", "10")),
            login_slowdown_max_seconds=float(env.get("LOGIN_SLOWDOWN_MAX_SECONDS", "4")),
            trusted_proxies=tuple(p.strip() for p in env.get("TRUSTED_PROXIES", "").split(",") if p.strip()),
            mail_from=env.get("MAIL_FROM", "").strip(),
            forgot_per_email=int(env.get("FORGOT_PER_EMAIL", "3")),
            forgot_per_client=int(env.get("FORGOT_PER_CLIENT", "20")),
            mail_password_key=env.get("MAIL_PASSWORD_KEY", "").strip(),
            imap_poll_seconds=max(5, int(env.get("IMAP_POLL_SECONDS", "60"))),
            forum_posts_per_client=int(env.get("FORUM_POSTS_PER_CLIENT", "20")),
            forum_posts_per_email=int(env.get("FORUM_POSTS_PER_EMAIL", "10")),
            live_heartbeat_seconds=float(env.get("LIVE_HEARTBEAT_SECONDS", "15")),
        )
