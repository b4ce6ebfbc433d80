"""Mail the service sends itself: an invite, or a password-reset link, as the "account.mail" job.

The job's payload names only the invite or the person; the link is signed here, when the mail goes
out, so no usable link is ever stored. Composing, the relay and sending are those of replies
(app/mail/outgoing.py). An invite's mail records how it went on the invite (queued → sent, or
retrying → sent or failed), which the team page shows; a reset mail records nothing anyone sees.
The text is in the recipient's language (their account's; Swedish for an address without one).
"""
from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage

from app import accounts
from app.config import Settings
from app.db import Database
from app.i18n import N_, translations
from app.jobs import Job
from app.mail import outgoing

SENDER_NAME = "Samsyn"
MAX_ERROR = 2000


@dataclass(frozen=True)
class _Config:
    secret_key: str
    base_url: str
    sender_address: str


_config: _Config | None = None


def configure(settings: Settings) -> None:
    """Where links point, what signs them, who mail is from; the worker calls it at start, tests too."""
    global _config
    _config = _Config(settings.secret_key, settings.base_url, settings.sender_address)


def configured() -> _Config:
    if _config is None:
        raise RuntimeError("account_mail.configure(settings) was not called")
    return _config


INVITE_SUBJECT = N_("Invitation to %(org)s in Samsyn")
INVITE_BODY = N_("Hello!\n\n"
                 "%(inviter)s has invited you to join %(org)s in Samsyn as %(role)s.\n\n"
                 "Open this link to join. It works once, for 7 days:\n\n%(link)s\n\n"
                 "If you did not expect this invitation, you can ignore this mail.")
RESET_SUBJECT = N_("Choose a new password for Samsyn")
RESET_BODY = N_("Hello %(name)s!\n\n"
                "Someone, hopefully you, asked for a new password for your Samsyn account.\n\n"
                "Open this link to choose one. It works once, for 24 hours:\n\n%(link)s\n\n"
                "If you did not ask for this, you can ignore this mail: your password stays as it is.")
ROLES = {"admin": N_("Admin"), "editor": N_("Editor"), "viewer": N_("Viewer")}

INVITE = """
SELECT i.id, i.email, i.role, i.mail_state, o.name AS org_name, u.name AS inviter_name,
       coalesce(account_locale(i.email), 'sv') AS locale
FROM invites i JOIN organizations o ON o.id = i.org_id
LEFT JOIN users u ON u.id = i.invited_by
WHERE i.org_id = $1 AND i.id = $2 AND i.accepted_at IS NULL
"""

PERSON = """
SELECT u.id, u.name, u.email, u.locale, u.password_hash
FROM users u JOIN memberships m ON m.user_id = u.id AND m.org_id = $1 AND m.ended_at IS NULL
WHERE u.id = $2
"""

# Only a pending invite mail changes state: "sent" and "failed" are final for its job.
RECORD = """
UPDATE invites SET mail_state = $3, mail_error = $4
WHERE org_id = $1 AND id = $2 AND mail_state IN ('queued', 'retrying')
RETURNING id
"""


def _text(locale: str, message: str, **values) -> str:
    return translations(locale).gettext(message) % values


def _mail(to_name: str | None, to_address: str, subject: str, body: str) -> EmailMessage:
    config = configured()
    return outgoing.notice(sender_name=SENDER_NAME, sender_address=config.sender_address, to_name=to_name,
                           to_address=to_address, subject=subject, body=body,
                           message_id=outgoing.new_message_id(config.sender_address))


def invite_mail(invite) -> EmailMessage:
    """The invite as a mail, its link signed now."""
    config, locale = configured(), invite["locale"]
    link = f"{config.base_url}/invite/{accounts.invite_token(config.secret_key, invite['id'])}"
    role = _text(locale, ROLES[invite["role"]]).lower()
    return _mail(None, invite["email"], _text(locale, INVITE_SUBJECT, org=invite["org_name"]),
                 _text(locale, INVITE_BODY, inviter=invite["inviter_name"] or SENDER_NAME,
                       org=invite["org_name"], role=role, link=link))


def reset_mail(person) -> EmailMessage:
    """The reset link as a mail, signed now for the person's current password (used once, it stops working)."""
    config = configured()
    token = accounts.reset_token(config.secret_key, person["id"], person["password_hash"])
    return _mail(person["name"], person["email"], _text(person["locale"], RESET_SUBJECT),
                 _text(person["locale"], RESET_BODY, name=person["name"], link=f"{config.base_url}/reset/{token}"))


async def _record(db: Database, org_id: int, invite_id: int, state: str, error: str | None) -> None:
    async with db.transaction(org_id) as tx:
        if await tx.fetchval(RECORD, org_id, invite_id, state, error and error[:MAX_ERROR]):
            await tx.emit("member.invite_mail_changed", invite_id=invite_id, state=state)


async def send_job(db: Database, job: Job) -> None:
    """The worker's handler for "account.mail" jobs: send the invite or the reset link.

    An invite's temporary failure is recorded as "retrying" and raised, so the job backs off.
    """
    org_id, payload = job.org_id, job.payload
    invite_id = payload.get("invite_id")
    async with db.transaction(org_id, readonly=True) as tx:
        if invite_id is not None:
            row = await tx.fetchrow(INVITE, org_id, invite_id)
        else:
            row = await tx.fetchrow(PERSON, org_id, payload["user_id"])
    if row is None or (invite_id is not None and row["mail_state"] not in ("queued", "retrying")):
        return  # accepted, removed, or sent by an earlier run
    try:
        mail = invite_mail(row) if invite_id is not None else reset_mail(row)
    except outgoing.Unsendable as exc:
        if invite_id is not None:
            await _record(db, org_id, invite_id, "failed", str(exc))
        return
    try:
        await outgoing.deliver(mail, outgoing.relay_for(None, None))
    except Exception as exc:  # noqa: BLE001 - whatever kept the relay from taking it shows on the invite
        final = outgoing.permanent(exc) or job.attempts >= job.max_attempts
        if invite_id is not None:
            await _record(db, org_id, invite_id, "failed" if final else "retrying", outgoing.describe(exc))
        if outgoing.permanent(exc):
            return  # a 5xx: trying again would not help
        raise
    if invite_id is not None:
        await _record(db, org_id, invite_id, "sent", None)


async def gave_up(db: Database, job: Job, error: str) -> None:
    """The job failed for good outside send_job's own records (timed out, or its worker died)."""
    if (invite_id := job.payload.get("invite_id")) is not None:
        await _record(db, job.org_id, invite_id, "failed", error)
