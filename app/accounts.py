"""People, organisations, memberships, sessions, invites and password resets."""
from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app import jobs, notifications, passwords
from app.actors import ROLES, Actor, AnyActor, require
from app.db import Database, Tx
from app.errors import Forbidden, Invalid, NotFound
from app.i18n import N_
from app.text import clean_address, clean_name

SESSION_DAYS = 14
INVITE_MAX_AGE = 7 * 24 * 3600
RESET_MAX_AGE = 24 * 3600
# Invites and reset links go out by mail through this job (app/mail/account_mail.py); its payload
# names the invite or the person, never the link, which the worker signs when it sends.
ACCOUNT_MAIL = "account.mail"
ACCOUNT_MAIL_ATTEMPTS = 12  # back-off from 5 s doubling: the last attempt comes 1 to 2.5 hours on
MAX_NAME = 200  # people and organisations; the tables' CHECKs say the same
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Session:
    actor: Actor
    csrf_token: str
    organizations: list  # [(org_id, name, role)] the person may switch between
    unread_notifications: int = 0  # the header's count, in the session's organisation
    seq: int = 0  # the organisation's last event before the page was read: its socket replays from here


def require_admin(actor: AnyActor) -> None:
    require(actor, "member.manage")


def normalise_email(email: str) -> str:
    try:
        email = clean_address(email)
    except Invalid:
        raise Invalid(N_("Enter a valid e-mail address."), "email") from None
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise Invalid(N_("Enter a valid e-mail address."), "email")
    return email


def _lookup_email(email: str) -> str:
    """An e-mail as typed at login, in the form accounts are stored under (no validation: never says why)."""
    return unicodedata.normalize("NFC", (email or "").strip()).lower()[:254]


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def session_id(token: str) -> str:
    """A session's name where the token itself must not go (Redis messages): its hash, in hex."""
    return _token_hash(token).hex()


# --- people and organisations ----------------------------------------------------------------


async def create_organization(db: Database, name: str, time_zone: str = "Europe/Stockholm") -> int:
    name = clean_name(name, "name", MAX_NAME)
    async with db.transaction(None) as tx:
        return await tx.fetchval("SELECT create_organization($1, $2)", name, time_zone)


CREATE_ACCOUNT = "SELECT create_account($1, $2, $3, $4, $5)"


async def create_user(db: Database, email: str, name: str, password: str, locale: str = "sv") -> int:
    """A new account, member of nothing yet (set-up and seeding; people join by invite)."""
    email = normalise_email(email)
    name = clean_name(name, "name", MAX_NAME)
    password_hash = await passwords.hash_password(password)
    async with db.transaction(None) as tx:
        user_id = await tx.fetchval(CREATE_ACCOUNT, email, name, password_hash, locale, None)
    if user_id is None:
        raise Invalid(N_("There is already an account with that e-mail address."), "email")
    return user_id


async def account_id(db: Database, email: str) -> int | None:
    """The id of the account with this e-mail address, if there is one (set-up and seeding)."""
    async with db.transaction(None, readonly=True) as tx:
        return await tx.fetchval("SELECT id FROM login_credentials($1)", _lookup_email(email))


# A former member who joins again gets their membership back: the same row their messages name.
JOIN = """
INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, $3)
ON CONFLICT (org_id, user_id) DO UPDATE
SET role = EXCLUDED.role, ended_at = NULL, ended_by = NULL, away = false, away_since = NULL
WHERE memberships.ended_at IS NOT NULL
"""


async def _add_membership(tx: Tx, user_id: int, role: str) -> None:
    if await tx.execute(JOIN, tx.org_id, user_id, role) != "INSERT 0 1":
        raise Invalid(N_("That person is already a member."), "email")
    await tx.emit("member.joined", user_id=user_id, role=role)


async def add_member(db: Database, org_id: int, user_id: int, role: str) -> None:
    """Make a person a member of an organisation (set-up and seeding; people join by invite)."""
    if role not in ROLES:
        raise Invalid(N_("Unknown role."), "role")
    async with db.transaction(org_id) as tx:
        await _add_membership(tx, user_id, role)


async def authenticate(db: Database, email: str, password: str) -> int | None:
    """The user id for a correct e-mail and password, else None (never says which was wrong)."""
    async with db.transaction(None, readonly=True) as tx:
        row = await tx.fetchrow("SELECT id, password_hash FROM login_credentials($1)", _lookup_email(email))
    if await passwords.verify(row["password_hash"] if row else None, password):
        return row["id"]
    return None


# --- sessions ----------------------------------------------------------------------------------


async def _organizations(tx: Tx, user_id: int) -> list[tuple[int, str, str]]:
    return [tuple(r) for r in await tx.fetch("SELECT * FROM user_organizations($1)", user_id)]


async def organizations_of(db: Database, user_id: int) -> list[tuple[int, str, str]]:
    """(org_id, name, role) of every organisation the person belongs to."""
    async with db.transaction(None, readonly=True) as tx:
        return await _organizations(tx, user_id)


async def start_session(db: Database, user_id: int) -> str | None:
    """A new session token in the organisation used last (or the first), None without any."""
    token = secrets.token_urlsafe(32)
    async with db.transaction(None) as tx:
        org_id = await tx.fetchval(
            "SELECT session_start($1, $2, $3, $4)", _token_hash(token), user_id, secrets.token_urlsafe(32),
            datetime.now(timezone.utc) + timedelta(days=SESSION_DAYS))
    return token if org_id is not None else None


async def load_session(db: Database, token: str) -> Session | None:
    """The live session a token names, with the person's current role; None once it ended."""
    async with db.transaction(None, readonly=True) as tx:
        s = await tx.fetchrow("SELECT * FROM session_lookup($1)", _token_hash(token))
        if s is None:  # unknown, expired, or the membership was removed since login
            return None
        orgs = await _organizations(tx, s["user_id"])
        # every page's header shows it: read here, in the session's organisation, in the same round of work
        await tx.execute("SELECT set_config('app.org_id', $1, true)", str(s["org_id"]))
        # the seq first, so everything the page reads is at least as new (a replay may repeat, never miss)
        seq = await tx.fetchval("SELECT last_event_seq FROM organizations WHERE id = $1", s["org_id"])
        unread = await notifications.unread_in(tx, s["org_id"], s["user_id"])
    actor = Actor(s["user_id"], s["org_id"], s["role"], s["name"], s["email"], s["locale"], s["org_name"],
                  s["time_zone"], s["away"])
    return Session(actor, s["csrf_token"], orgs, unread, seq)


async def live_sessions(db: Database, tokens: set[str]) -> dict[str, tuple[int, str]]:
    """(organisation, role) of each token whose session is still live; ended ones are missing (one query)."""
    by_hash = {_token_hash(t): t for t in tokens}
    async with db.transaction(None, readonly=True) as tx:
        rows = await tx.fetch("SELECT h, s.org_id, s.role FROM unnest($1::bytea[]) AS h, LATERAL session_lookup(h) s",
                              list(by_hash))
    return {by_hash[r["h"]]: (r["org_id"], r["role"]) for r in rows}


async def end_session(db: Database, token: str) -> None:
    async with db.transaction(None) as tx:
        await tx.execute("SELECT session_end($1)", _token_hash(token))
    await db.sessions_changed(session=session_id(token))


async def switch_organization(db: Database, token: str, org_id: int) -> None:
    """Move the session to another organisation of the same person (NotFound where they are no member)."""
    async with db.transaction(None) as tx:
        if not await tx.fetchval("SELECT session_switch($1, $2)", _token_hash(token), org_id):
            raise NotFound()
    await db.sessions_changed(session=session_id(token))  # its sockets belong to the organisation it left


async def set_locale(db: Database, user_id: int, locale: str) -> None:
    if locale not in ("sv", "en"):
        raise Invalid(N_("Unknown language."))
    async with db.transaction(None, user_id=user_id) as tx:
        await tx.execute("UPDATE users SET locale = $2 WHERE id = $1", user_id, locale)


# --- members -----------------------------------------------------------------------------------

MEMBERS = """
SELECT u.id, u.name, u.email, m.role, m.away, m.away_since, m.ended_at
FROM memberships m JOIN users u ON u.id = m.user_id
WHERE m.org_id = $1 {where}
ORDER BY m.ended_at IS NOT NULL, lower(u.name), u.id
"""
ACTIVE = "AND m.ended_at IS NULL"


async def members(db: Database, org_id: int) -> list:
    """The organisation's current members (not those removed)."""
    return await db.read(org_id, MEMBERS.format(where=ACTIVE), org_id)


async def team(db: Database, org_id: int) -> list:
    """Current members, then former ones (the team page)."""
    return await db.read(org_id, MEMBERS.format(where=""), org_id)


async def member(db: Database, org_id: int, user_id: int):
    return await db.read_one(org_id, MEMBERS.format(where="AND m.user_id = $2"), org_id, user_id)


async def _lock_admins_and_role(tx: Tx, user_id: int) -> tuple[set[int], str]:
    """The current admins and this member's role, all locked; NotFound for no current member."""
    # Lock every admin first: two admins demoting or removing each other at once must not leave none.
    admins = {r["user_id"] for r in await tx.fetch(
        "SELECT user_id FROM memberships WHERE org_id = $1 AND role = 'admin' AND ended_at IS NULL "
        "ORDER BY user_id FOR UPDATE", tx.org_id)}
    role = await tx.fetchval(
        "SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2 AND ended_at IS NULL FOR UPDATE",
        tx.org_id, user_id)
    if role is None:
        raise NotFound()
    return admins, role


async def set_role(db: Database, actor: AnyActor, user_id: int, role: str) -> None:
    require_admin(actor)
    if role not in ROLES:
        raise Invalid(N_("Unknown role."), "role")
    async with db.transaction(actor.org_id) as tx:
        admins, current = await _lock_admins_and_role(tx, user_id)
        if current == role:
            return
        if current == "admin" and admins <= {user_id}:
            raise Invalid(N_("The organisation must keep at least one admin."), "role")
        await tx.execute(
            "UPDATE memberships SET role = $3 WHERE org_id = $1 AND user_id = $2", actor.org_id, user_id, role
        )
        await tx.emit("member.role_changed", user_id=user_id, role=role, actor_id=actor.user_id)


async def set_away(db: Database, actor: AnyActor, user_id: int, away: bool) -> None:
    """Mark someone away (admins) or yourself (any member)."""
    if not isinstance(actor, Actor):
        raise Forbidden()
    if user_id != actor.user_id:
        require_admin(actor)
    async with db.transaction(actor.org_id) as tx:
        changed = await tx.fetchval(
            """UPDATE memberships SET away = $3, away_since = CASE WHEN $3 THEN now() END
               WHERE org_id = $1 AND user_id = $2 AND ended_at IS NULL AND away IS DISTINCT FROM $3 RETURNING 1""",
            actor.org_id, user_id, away,
        )
        if changed is None:
            if not await tx.fetchval(
                "SELECT 1 FROM memberships WHERE org_id = $1 AND user_id = $2 AND ended_at IS NULL",
                actor.org_id, user_id
            ):
                raise NotFound()
            return
        await tx.emit("member.away_changed", user_id=user_id, away=away, actor_id=actor.user_id)


# Their cases still being worked lose their assignee; closed ones keep who handled them.
UNASSIGN_OPEN = """
UPDATE conversations SET assignee_id = NULL, updated_at = now()
WHERE org_id = $1 AND assignee_id = $2 AND status IN ('open', 'waiting')
RETURNING id
"""


async def remove_member(db: Database, actor: AnyActor, user_id: int) -> None:
    """End a membership (never delete it: messages keep their author), end the person's sessions in this
    organisation, and unassign their open cases, each by its own event."""
    require_admin(actor)
    async with db.transaction(actor.org_id) as tx:
        admins, role = await _lock_admins_and_role(tx, user_id)
        if role == "admin" and admins <= {user_id}:
            raise Invalid(N_("You are the last admin: make someone else admin first."), "user")
        await tx.execute(
            """UPDATE memberships SET ended_at = now(), ended_by = $3, away = false, away_since = NULL
               WHERE org_id = $1 AND user_id = $2""", actor.org_id, user_id, actor.user_id)
        await tx.execute("SELECT sessions_end_in_org($1, $2)", user_id, actor.org_id)
        await tx.emit("member.removed", user_id=user_id, actor_id=actor.user_id)
        for row in await tx.fetch(UNASSIGN_OPEN, actor.org_id, user_id):
            await tx.emit("conversation.assigned", conversation_id=row["id"], assignee_id=None,
                          actor_id=actor.user_id)


# --- invites -----------------------------------------------------------------------------------


def _serializer(secret: str, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=f"samsyn.{purpose}")


async def invite(db: Database, actor: AnyActor, email: str, role: str) -> int:
    require_admin(actor)
    email = normalise_email(email)
    if role not in ROLES:
        raise Invalid(N_("Unknown role."), "role")
    async with db.transaction(actor.org_id) as tx:
        if await tx.fetchval(
            """SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
               WHERE m.org_id = $1 AND u.email = $2 AND m.ended_at IS NULL""",
            actor.org_id, email,
        ):
            raise Invalid(N_("That person is already a member."), "email")
        invite_id = await tx.fetchval(
            "INSERT INTO invites (org_id, email, role, invited_by) VALUES ($1, $2, $3, $4) RETURNING id",
            actor.org_id, email, role, actor.user_id,
        )
        await _queue_invite_mail(tx, invite_id)
        await tx.emit("member.invited", invite_id=invite_id, actor_id=actor.user_id)
    return invite_id


async def _queue_invite_mail(tx: Tx, invite_id: int) -> None:
    job_id = await jobs.enqueue(tx, ACCOUNT_MAIL, {"mail": "invite", "invite_id": invite_id},
                                max_attempts=ACCOUNT_MAIL_ATTEMPTS)
    await tx.execute(
        "UPDATE invites SET mail_state = 'queued', mail_error = NULL, mail_job_id = $3 WHERE org_id = $1 AND id = $2",
        tx.org_id, invite_id, job_id)


OPEN_INVITE = "accepted_at IS NULL AND created_at > now() - make_interval(secs => $2)"


async def resend_invite(db: Database, actor: AnyActor, invite_id: int) -> None:
    """Mail an open invite again (a fresh link), unless its mail is on its way already."""
    require_admin(actor)
    async with db.transaction(actor.org_id) as tx:
        state = await tx.fetchrow(
            f"SELECT mail_state FROM invites WHERE org_id = $1 AND {OPEN_INVITE} AND id = $3 FOR UPDATE",
            actor.org_id, INVITE_MAX_AGE, invite_id)
        if state is None:
            raise NotFound()
        if state["mail_state"] in ("queued", "retrying"):
            return
        await _queue_invite_mail(tx, invite_id)
        await tx.emit("member.invite_mail_changed", invite_id=invite_id, state="queued")


async def open_invites(db: Database, org_id: int) -> list:
    return await db.read(
        org_id,
        f"""SELECT id, email, role, created_at, mail_state, mail_error FROM invites
            WHERE org_id = $1 AND {OPEN_INVITE}
            ORDER BY created_at DESC, id DESC""",
        org_id, INVITE_MAX_AGE,
    )


def invite_token(secret: str, invite_id: int) -> str:
    return _serializer(secret, "invite").dumps(invite_id)


async def invite_from_token(db: Database, secret: str, token: str):
    """The invite a link names, if the link is genuine, unexpired and unused; else NotFound.

    It says nothing about whether the address already has an account.
    """
    try:
        invite_id = _serializer(secret, "invite").loads(token, max_age=INVITE_MAX_AGE)
    except (BadSignature, SignatureExpired):
        raise NotFound() from None
    async with db.transaction(None, readonly=True) as tx:
        row = await tx.fetchrow("SELECT * FROM invite_for_link($1)", invite_id)
    if row is None or row["accepted_at"] is not None:
        raise NotFound()
    return row


async def _claim_invite(tx: Tx, invite_id: int) -> None:
    # The single-use check, inside the transaction that uses the invite.
    if not await tx.fetchval(
        "UPDATE invites SET accepted_at = now() WHERE org_id = $1 AND id = $2 AND accepted_at IS NULL RETURNING 1",
        tx.org_id, invite_id,
    ):
        raise NotFound()


async def accept_invite(db: Database, secret: str, token: str, name: str, password: str) -> int:
    """Join the invite's organisation with a new account, in one transaction; returns the user id.

    An address that already has an account joins by logging in first (`accept_invite_as`),
    so this page never takes an existing account's password.
    """
    inv = await invite_from_token(db, secret, token)
    name = clean_name(name, "name", MAX_NAME)
    password_hash = await passwords.hash_password(password)
    async with db.transaction(inv["org_id"]) as tx:
        await _claim_invite(tx, inv["id"])
        user_id = await tx.fetchval(CREATE_ACCOUNT, inv["email"], name, password_hash, "sv", inv["org_id"])
        if user_id is None:
            raise Invalid(N_("This address already has an account: log in to accept the invite."), "email")
        await _add_membership(tx, user_id, inv["role"])
        await tx.emit("member.invite_accepted", invite_id=inv["id"], user_id=user_id)
    return user_id


async def accept_invite_as(db: Database, secret: str, token: str, user_id: int, email: str) -> int:
    """Join the invite's organisation as the logged-in person the invite is for; returns the organisation."""
    inv = await invite_from_token(db, secret, token)
    if inv["email"] != email:
        raise Invalid(N_("This invite is for another e-mail address. Log out and open the link again."), "email")
    async with db.transaction(inv["org_id"], user_id=user_id) as tx:
        await _claim_invite(tx, inv["id"])
        if not await tx.fetchval(
            "SELECT 1 FROM memberships WHERE org_id = $1 AND user_id = $2 AND ended_at IS NULL",
            inv["org_id"], user_id
        ):
            await _add_membership(tx, user_id, inv["role"])
        await tx.emit("member.invite_accepted", invite_id=inv["id"], user_id=user_id)
        await tx.execute("UPDATE users SET last_org_id = $2 WHERE id = $1", user_id, inv["org_id"])
    return inv["org_id"]


# --- password resets ---------------------------------------------------------------------------


def _password_fingerprint(password_hash: str) -> str:
    # Part of the token: once the password changes, every earlier reset link stops working.
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


async def reset_link_token(db: Database, actor: AnyActor, secret: str, user_id: int) -> str:
    """A signed link, valid 24 hours and once, that lets a member choose a new password.

    A password belongs to the person, not to one organisation: an admin hands out a link only
    for someone all of whose organisations they administer.
    """
    require_admin(actor)
    async with db.transaction(actor.org_id, readonly=True) as tx:
        password_hash = await tx.fetchval(
            """SELECT u.password_hash FROM memberships m JOIN users u ON u.id = m.user_id
               WHERE m.org_id = $1 AND m.user_id = $2 AND m.ended_at IS NULL""", actor.org_id, user_id)
        if password_hash is None:
            raise NotFound()
        theirs = {r[0] for r in await _organizations(tx, user_id)}
        administered = {org_id for org_id, _, role in await _organizations(tx, actor.user_id) if role == "admin"}
    if not theirs <= administered:
        raise Invalid(N_("This person also belongs to an organisation you do not administer, "
                         "so you cannot reset their password."), "user")
    return reset_token(secret, user_id, password_hash)


def reset_token(secret: str, user_id: int, password_hash: str) -> str:
    """The signed reset link's token for a person with this password: it stops working once the password changes."""
    return _serializer(secret, "reset").dumps([user_id, _password_fingerprint(password_hash)])


async def request_password_reset(db: Database, email: str) -> None:
    """"Forgot password": queue a mail with a reset link to the account with this address, if someone can
    log in with it. Says nothing either way; the link is signed only when the worker sends it."""
    async with db.transaction(None, readonly=True) as tx:
        target = await tx.fetchrow("SELECT * FROM password_reset_target($1)", _lookup_email(email))
    if target is None:
        return
    async with db.transaction(target["org_id"]) as tx:
        await jobs.enqueue(tx, ACCOUNT_MAIL, {"mail": "reset", "user_id": target["user_id"]},
                           max_attempts=ACCOUNT_MAIL_ATTEMPTS)


def _reset_claim(secret: str, token: str) -> tuple[int, str]:
    try:
        user_id, fingerprint = _serializer(secret, "reset").loads(token, max_age=RESET_MAX_AGE)
    except (BadSignature, SignatureExpired, ValueError, TypeError):
        raise NotFound() from None
    if not isinstance(user_id, int):
        raise NotFound()
    return user_id, fingerprint


async def _current_hash(tx: Tx, user_id: int, *, lock: bool = False) -> str | None:
    return await tx.fetchval(
        "SELECT password_hash FROM users WHERE id = $1" + (" FOR UPDATE" if lock else ""), user_id)


async def user_for_reset(db: Database, secret: str, token: str) -> int:
    """The person a reset link is for, while the link is genuine, unexpired and unused; else NotFound."""
    user_id, fingerprint = _reset_claim(secret, token)
    async with db.transaction(None, user_id=user_id, readonly=True) as tx:
        password_hash = await _current_hash(tx, user_id)
    if password_hash is None or _password_fingerprint(password_hash) != fingerprint:
        raise NotFound()
    return user_id


async def reset_password(db: Database, secret: str, token: str, password: str) -> int:
    """Set a new password through a reset link, once, and end every session of that person."""
    user_id, fingerprint = _reset_claim(secret, token)
    new_hash = await passwords.hash_password(password)
    async with db.transaction(None, user_id=user_id) as tx:
        # The single-use check and the write in one transaction, the row locked between them.
        password_hash = await _current_hash(tx, user_id, lock=True)
        if password_hash is None or _password_fingerprint(password_hash) != fingerprint:
            raise NotFound()
        await tx.execute("UPDATE users SET password_hash = $2 WHERE id = $1", user_id, new_hash)
        # whoever knew the old password is logged out
        await tx.execute("SELECT sessions_end_for_user($1)", user_id)
    await db.sessions_changed(user_id=user_id)
    return user_id


async def editors(db: Database, org_id: int) -> list:
    """The current members who work cases (admins and editors): whom a case can be assigned to."""
    return [m for m in await members(db, org_id) if m["role"] != "viewer"]
