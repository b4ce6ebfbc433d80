"""People, organisations, memberships, sessions, invites and password resets."""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.db import Database, Tx
from app.errors import Forbidden, Invalid, NotFound
from app.i18n import N_

ROLES = ("admin", "editor", "viewer")
SESSION_DAYS = 14
INVITE_MAX_AGE = 7 * 24 * 3600
RESET_MAX_AGE = 24 * 3600
MIN_PASSWORD = 10
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so a wrong address costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("no such account")


@dataclass(frozen=True)
class Actor:
    """Who is acting, in which organisation, with which role: taken from the session, never the request."""

    user_id: int
    org_id: int
    role: str
    name: str
    email: str
    locale: str
    org_name: str
    time_zone: str
    away: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def can_edit(self) -> bool:
        return self.role in ("admin", "editor")


@dataclass(frozen=True)
class Session:
    actor: Actor
    csrf_token: str
    organizations: list  # [(org_id, name, role)] the person may switch between


def require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden()


def normalise_email(email: str) -> str:
    email = (email or "").strip().lower()
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise Invalid(N_("Enter a valid e-mail address."), "email")
    return email


def hash_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD:
        raise Invalid(N_("The password must be at least 10 characters."), "password")
    return _hasher.hash(password)


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


# --- people and organisations ----------------------------------------------------------------


async def create_organization(db: Database, name: str, time_zone: str = "Europe/Stockholm") -> int:
    async with db.transaction(None) as tx:
        return await tx.fetchval("SELECT create_organization($1, $2)", name, time_zone)


async def create_user(db: Database, email: str, name: str, password: str, locale: str = "sv") -> int:
    email = normalise_email(email)
    name = (name or "").strip()
    if not name:
        raise Invalid(N_("Enter a name."), "name")
    password_hash = hash_password(password)
    async with db.transaction(None) as tx:
        if await tx.fetchval("SELECT 1 FROM users WHERE email = $1", email):
            raise Invalid(N_("There is already an account with that e-mail address."), "email")
        return await tx.fetchval(
            "INSERT INTO users (email, name, password_hash, locale) VALUES ($1, $2, $3, $4) RETURNING id",
            email, name, password_hash, locale,
        )


async def _add_membership(tx: Tx, user_id: int, role: str) -> None:
    await tx.execute(
        "INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, $3)", tx.org_id, user_id, role
    )
    await tx.emit("member.joined", user_id=user_id, role=role)


async def add_member(db: Database, org_id: int, user_id: int, role: str) -> None:
    """Make a person a member of an organisation (set-up and seeding; people join by invite)."""
    if role not in ROLES:
        raise Invalid(N_("Unknown role."), "role")
    async with db.transaction(org_id) as tx:
        await _add_membership(tx, user_id, role)


async def authenticate(db: Database, email: str, password: str) -> int | None:
    """The user id for a correct e-mail and password, else None (never says which was wrong)."""
    email = (email or "").strip().lower()
    async with db.transaction(None, readonly=True) as tx:
        row = await tx.fetchrow("SELECT id, password_hash FROM users WHERE email = $1", email)
    try:
        _hasher.verify(row["password_hash"] if row else _DUMMY_HASH, password or "")
    except (VerificationError, InvalidHashError):
        return None
    return row["id"] if row else None


# --- sessions ----------------------------------------------------------------------------------

LOAD_SESSION = """
SELECT s.user_id, s.org_id, s.csrf_token, u.name, u.email, u.locale
FROM sessions s JOIN users u ON u.id = s.user_id
WHERE s.token_hash = $1 AND s.expires_at > now()
"""

LOAD_MEMBERSHIP = """
SELECT m.role, m.away, o.name AS org_name, o.time_zone
FROM memberships m JOIN organizations o ON o.id = m.org_id
WHERE m.org_id = $1 AND m.user_id = $2
"""


async def _organizations(tx: Tx, user_id: int) -> list[tuple[int, str, str]]:
    return [tuple(r) for r in await tx.fetch("SELECT * FROM user_organizations($1)", user_id)]


async def organizations_of(db: Database, user_id: int) -> list[tuple[int, str, str]]:
    """(org_id, name, role) of every organisation the person belongs to."""
    async with db.transaction(None, readonly=True) as tx:
        return await _organizations(tx, user_id)


async def start_session(db: Database, user_id: int) -> str | None:
    """A new session token in the organisation used last (or the first), None without any."""
    orgs = await organizations_of(db, user_id)
    if not orgs:
        return None
    async with db.transaction(None) as tx:
        last = await tx.fetchval("SELECT last_org_id FROM users WHERE id = $1", user_id)
        org_id = last if last in {o[0] for o in orgs} else orgs[0][0]
        token = secrets.token_urlsafe(32)
        await tx.execute("DELETE FROM sessions WHERE user_id = $1 AND expires_at < now()", user_id)
        await tx.execute(
            "INSERT INTO sessions (token_hash, user_id, org_id, csrf_token, expires_at) VALUES ($1, $2, $3, $4, $5)",
            _token_hash(token), user_id, org_id, secrets.token_urlsafe(32),
            datetime.now(timezone.utc) + timedelta(days=SESSION_DAYS),
        )
    return token


async def load_session(db: Database, token: str) -> Session | None:
    async with db.transaction(None, readonly=True) as tx:
        s = await tx.fetchrow(LOAD_SESSION, _token_hash(token))
        orgs = await _organizations(tx, s["user_id"]) if s else []
    if s is None:
        return None
    async with db.transaction(s["org_id"], readonly=True) as tx:
        m = await tx.fetchrow(LOAD_MEMBERSHIP, s["org_id"], s["user_id"])
    if m is None:  # membership removed since login
        return None
    actor = Actor(s["user_id"], s["org_id"], m["role"], s["name"], s["email"], s["locale"], m["org_name"],
                  m["time_zone"], m["away"])
    return Session(actor, s["csrf_token"], orgs)


async def end_session(db: Database, token: str) -> None:
    async with db.transaction(None) as tx:
        await tx.execute("DELETE FROM sessions WHERE token_hash = $1", _token_hash(token))


async def switch_organization(db: Database, token: str, user_id: int, org_id: int) -> None:
    if org_id not in {o[0] for o in await organizations_of(db, user_id)}:
        raise NotFound()
    async with db.transaction(None) as tx:
        await tx.execute("UPDATE sessions SET org_id = $2 WHERE token_hash = $1", _token_hash(token), org_id)
        await tx.execute("UPDATE users SET last_org_id = $2 WHERE id = $1", user_id, org_id)


async def set_locale(db: Database, user_id: int, locale: str) -> None:
    if locale not in ("sv", "en"):
        raise Invalid(N_("Unknown language."))
    async with db.transaction(None) as tx:
        await tx.execute("UPDATE users SET locale = $2 WHERE id = $1", user_id, locale)


# --- members -----------------------------------------------------------------------------------

MEMBERS = """
SELECT u.id, u.name, u.email, m.role, m.away, m.away_since
FROM memberships m JOIN users u ON u.id = m.user_id
WHERE m.org_id = $1 {where}
ORDER BY lower(u.name), u.id
"""


async def members(db: Database, org_id: int) -> list:
    return await db.read(org_id, MEMBERS.format(where=""), org_id)


async def member(db: Database, org_id: int, user_id: int):
    return await db.read_one(org_id, MEMBERS.format(where="AND m.user_id = $2"), org_id, user_id)


async def set_role(db: Database, actor: Actor, user_id: int, role: str) -> None:
    require_admin(actor)
    if role not in ROLES:
        raise Invalid(N_("Unknown role."), "role")
    async with db.transaction(actor.org_id) as tx:
        current = await tx.fetchval(
            "SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2 FOR UPDATE", actor.org_id, user_id
        )
        if current is None:
            raise NotFound()
        if current == role:
            return
        if current == "admin":
            admins = await tx.fetchval(
                "SELECT count(*) FROM memberships WHERE org_id = $1 AND role = 'admin'", actor.org_id
            )
            if admins <= 1:
                raise Invalid(N_("The organisation must keep at least one admin."), "role")
        await tx.execute(
            "UPDATE memberships SET role = $3 WHERE org_id = $1 AND user_id = $2", actor.org_id, user_id, role
        )
        await tx.emit("member.role_changed", user_id=user_id, role=role, actor_id=actor.user_id)


async def set_away(db: Database, actor: Actor, user_id: int, away: bool) -> None:
    """Mark someone away (admins) or yourself (anyone)."""
    if user_id != actor.user_id:
        require_admin(actor)
    async with db.transaction(actor.org_id) as tx:
        changed = await tx.fetchval(
            """UPDATE memberships SET away = $3, away_since = CASE WHEN $3 THEN now() END
               WHERE org_id = $1 AND user_id = $2 AND away IS DISTINCT FROM $3 RETURNING 1""",
            actor.org_id, user_id, away,
        )
        if changed is None:
            if not await tx.fetchval(
                "SELECT 1 FROM memberships WHERE org_id = $1 AND user_id = $2", actor.org_id, user_id
            ):
                raise NotFound()
            return
        await tx.emit("member.away_changed", user_id=user_id, away=away, actor_id=actor.user_id)


# --- invites -----------------------------------------------------------------------------------


def _serializer(secret: str, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=f"samsyn.{purpose}")


async def invite(db: Database, actor: Actor, email: str, role: str) -> int:
    require_admin(actor)
    email = normalise_email(email)
    if role not in ROLES:
        raise Invalid(N_("Unknown role."), "role")
    async with db.transaction(actor.org_id) as tx:
        if await tx.fetchval(
            "SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 AND u.email = $2",
            actor.org_id, email,
        ):
            raise Invalid(N_("That person is already a member."), "email")
        invite_id = await tx.fetchval(
            "INSERT INTO invites (org_id, email, role, invited_by) VALUES ($1, $2, $3, $4) RETURNING id",
            actor.org_id, email, role, actor.user_id,
        )
        await tx.emit("member.invited", invite_id=invite_id, actor_id=actor.user_id)
    return invite_id


async def open_invites(db: Database, org_id: int) -> list:
    return await db.read(
        org_id,
        """SELECT id, email, role, created_at FROM invites
           WHERE org_id = $1 AND accepted_at IS NULL AND created_at > now() - make_interval(secs => $2)
           ORDER BY created_at DESC""",
        org_id, INVITE_MAX_AGE,
    )


def invite_token(secret: str, invite_id: int) -> str:
    return _serializer(secret, "invite").dumps(invite_id)


async def invite_from_token(db: Database, secret: str, token: str):
    """The invite a link names, if the link is genuine, unexpired and unused; else NotFound."""
    try:
        invite_id = _serializer(secret, "invite").loads(token, max_age=INVITE_MAX_AGE)
    except (BadSignature, SignatureExpired):
        raise NotFound() from None
    async with db.transaction(None, readonly=True) as tx:
        row = await tx.fetchrow("SELECT * FROM invite_for_link($1)", invite_id)
        existing = await tx.fetchval("SELECT id FROM users WHERE email = $1", row["email"]) if row else None
    if row is None or row["accepted_at"] is not None:
        raise NotFound()
    return row, existing


async def accept_invite(db: Database, secret: str, token: str, name: str, password: str) -> int:
    """Join the invite's organisation: a new account, or an existing one proven by its password."""
    inv, existing_user = await invite_from_token(db, secret, token)
    if existing_user is None:
        user_id = await create_user(db, inv["email"], name, password)
    else:
        user_id = await authenticate(db, inv["email"], password)
        if user_id is None:
            raise Invalid(N_("Wrong password for the existing account."), "password")
    async with db.transaction(inv["org_id"]) as tx:
        claimed = await tx.fetchval(
            "UPDATE invites SET accepted_at = now() WHERE id = $1 AND accepted_at IS NULL RETURNING 1", inv["id"]
        )
        if not claimed:
            raise NotFound()
        if not await tx.fetchval(
            "SELECT 1 FROM memberships WHERE org_id = $1 AND user_id = $2", inv["org_id"], user_id
        ):
            await _add_membership(tx, user_id, inv["role"])
        await tx.execute("UPDATE users SET last_org_id = $2 WHERE id = $1", user_id, inv["org_id"])
    return user_id


# --- password resets ---------------------------------------------------------------------------


def _password_fingerprint(password_hash: str) -> str:
    # Part of the token: once the password changes, every earlier reset link stops working.
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


async def reset_link_token(db: Database, actor: Actor, secret: str, user_id: int) -> str:
    """A signed link, valid 24 hours and once, that lets a member choose a new password."""
    require_admin(actor)
    await member(db, actor.org_id, user_id)  # NotFound outside the organisation
    async with db.transaction(None, readonly=True) as tx:
        password_hash = await tx.fetchval("SELECT password_hash FROM users WHERE id = $1", user_id)
    return _serializer(secret, "reset").dumps([user_id, _password_fingerprint(password_hash)])


async def user_for_reset(db: Database, secret: str, token: str) -> int:
    try:
        user_id, fingerprint = _serializer(secret, "reset").loads(token, max_age=RESET_MAX_AGE)
    except (BadSignature, SignatureExpired, ValueError, TypeError):
        raise NotFound() from None
    async with db.transaction(None, readonly=True) as tx:
        password_hash = await tx.fetchval("SELECT password_hash FROM users WHERE id = $1", user_id)
    if password_hash is None or _password_fingerprint(password_hash) != fingerprint:
        raise NotFound()
    return user_id


async def reset_password(db: Database, secret: str, token: str, password: str) -> int:
    user_id = await user_for_reset(db, secret, token)
    new_hash = hash_password(password)
    async with db.transaction(None) as tx:
        await tx.execute("UPDATE users SET password_hash = $2 WHERE id = $1", user_id, new_hash)
        # a reset ends every session: whoever knew the old password is logged out
        await tx.execute("DELETE FROM sessions WHERE user_id = $1", user_id)
    return user_id
