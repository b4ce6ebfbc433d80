"""Channels: the forums and mailboxes an organisation answers in."""
from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import date

import asyncpg

from app.accounts import normalise_email
from app.actors import AnyActor, require
from app.db import Database
from app.errors import Invalid, NotFound
from app.i18n import N_
from app.text import clean_address, clean_name

KINDS = ("forum", "mailbox")
# A fixed palette, each colour tuned for contrast in static/app.css, so rows stay readable.
COLOURS = ("blue", "green", "orange", "purple", "red", "teal", "pink", "yellow", "slate", "brown")
# how a mailbox's new mail cases are assigned (app/case_tools.py auto_assign_in)
AUTO_ASSIGN = ("off", "round_robin", "least_loaded")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")

CHANNELS = """
SELECT c.id, c.kind, c.name, c.colour, c.address, c.ingress_local_part, c.response_target_minutes, c.created_at,
       c.auto_assign, c.signature, c.embed_origins, c.opening_hours, c.holidays,
       -- kept by the write path (migration 0021), not counted here
       coalesce((SELECT d.n FROM dashboard_counts d
                 WHERE d.org_id = c.org_id AND d.bucket = 'channel' AND d.key = c.id), 0) AS open_count
FROM channels c WHERE c.org_id = $1 {where}
ORDER BY c.kind, lower(c.name), c.id
"""


async def list_channels(db: Database, org_id: int) -> list:
    return await db.read(org_id, CHANNELS.format(where=""), org_id)


async def get_channel(db: Database, org_id: int, channel_id: int):
    return await db.read_one(org_id, CHANNELS.format(where="AND c.id = $2"), org_id, channel_id)


async def signature_of(db: Database, org_id: int, channel_id: int) -> str:
    """A mailbox's signature alone (get_channel also reads the channel's open count)."""
    row = await db.read_one(org_id, "SELECT signature FROM channels WHERE org_id = $1 AND id = $2", org_id, channel_id)
    return row["signature"]


def _clean(kind: str, name: str, colour: str, address: str, target_minutes: int | str) -> tuple:
    if kind not in KINDS:
        raise Invalid(N_("Choose forum or mailbox."), "kind")
    name = clean_name(name, "name", 100, message=N_("Enter a name (at most 100 characters)."))
    if colour not in COLOURS:
        raise Invalid(N_("Choose a colour."), "colour")
    address = clean_address(address)
    if kind == "mailbox":
        address = normalise_email(address)
    elif not SLUG_RE.match(address):
        raise Invalid(N_("A forum address uses a–z, 0–9 and hyphens, 2–63 characters."), "address")
    try:
        target = int(target_minutes)
    except (TypeError, ValueError):
        raise Invalid(N_("The response-time target is a number of minutes."), "response_target_minutes") from None
    if not 1 <= target <= 60 * 24 * 30:
        raise Invalid(N_("The response-time target is between 1 minute and 30 days."), "response_target_minutes")
    return kind, name, colour, address, target


def _ingress_local_part(address: str) -> str:
    # readable, and unguessable so that no stranger can mail into the mailbox through it
    readable = re.sub(r"[^a-z0-9]+", "-", address.split("@")[0]).strip("-")[:30] or "inbox"
    return f"{readable}-{secrets.token_hex(6)}"


async def update_channel(db: Database, actor: AnyActor, channel_id: int, *, name: str, colour: str, address: str,
                         response_target_minutes: int | str, auto_assign: str | None = None,
                         signature: str | None = None, opening_hours: list | None = None,
                         holidays: str | None = None) -> None:
    """Rename, recolour, readdress or retarget a channel; for a mailbox, set how new mail is assigned
    and its signature (None: kept); its opening hours and holidays (None: kept). Its kind stays."""
    require(actor, "channel.manage")
    opening_hours = clean_opening_hours(opening_hours) if opening_hours is not None else None
    holiday_dates = clean_holidays(holidays) if holidays is not None else None
    if auto_assign is not None and auto_assign not in AUTO_ASSIGN:
        raise Invalid(N_("Choose how new mail is assigned."), "auto_assign")
    try:
        async with db.transaction(actor.org_id) as tx:
            kind = await tx.fetchval(
                "SELECT kind FROM channels WHERE org_id = $1 AND id = $2 FOR UPDATE", actor.org_id, channel_id)
            if kind is None:
                raise NotFound()
            _, name, colour, address, target = _clean(kind, name, colour, address, response_target_minutes)
            if kind != "mailbox":
                auto_assign = signature = None  # forum threads are not assigned automatically, nor signed
            signature = clean_signature(signature) if signature is not None else None
            changed = await tx.fetchval(
                """UPDATE channels SET name = $3, colour = $4, address = $5, response_target_minutes = $6,
                                       auto_assign = COALESCE($7, auto_assign), signature = COALESCE($8, signature),
                                       opening_hours = COALESCE($9, opening_hours), holidays = COALESCE($10, holidays)
                   WHERE org_id = $1 AND id = $2
                     AND (name, colour, address, response_target_minutes, auto_assign, signature, opening_hours,
                          holidays)
                         IS DISTINCT FROM ($3, $4, $5, $6, COALESCE($7, auto_assign), COALESCE($8, signature),
                                           COALESCE($9, opening_hours), COALESCE($10, holidays))
                   RETURNING 1""",
                actor.org_id, channel_id, name, colour, address, target, auto_assign, signature, opening_hours,
                holiday_dates,
            )
            if changed:
                await tx.emit("channel.updated", channel_id=channel_id, actor_id=actor.user_id)
    except asyncpg.UniqueViolationError:
        raise Invalid(N_("That address is already in use."), "address") from None


async def create_channel(db: Database, actor: AnyActor, *, kind: str, name: str, colour: str, address: str,
                         response_target_minutes: int | str = 480) -> int:
    require(actor, "channel.manage")
    values = _clean(kind, name, colour, address, response_target_minutes)
    try:
        async with db.transaction(actor.org_id) as tx:
            channel_id = await tx.fetchval(
                """INSERT INTO channels (org_id, kind, name, colour, address, response_target_minutes,
                                         ingress_local_part)
                   VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id""",
                actor.org_id, *values, _ingress_local_part(values[3]) if values[0] == "mailbox" else None,
            )
            await tx.emit("channel.created", channel_id=channel_id, actor_id=actor.user_id)
    except asyncpg.UniqueViolationError:
        raise Invalid(N_("That address is already in use."), "address") from None
    return channel_id


MAX_SIGNATURE = 2000


def clean_signature(text: str | None) -> str:
    """A mailbox's signature: plain text lines, trimmed; line breaks and tabs are its only control characters."""
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    text = "\n".join(line.rstrip() for line in lines).strip("\n")
    if len(text) > MAX_SIGNATURE:
        raise Invalid(N_("That is too long: at most %(max)s characters."), "signature", max=MAX_SIGNATURE)
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in text):
        raise Invalid(N_("The signature holds characters that cannot be shown."), "signature")
    return text


# --- opening hours and holidays (statistics, issue 10): the time within them is what response targets count ---

WEEKDAYS = 7  # Monday first


def _minutes(text: str, field: str) -> int:
    match = re.fullmatch(r"([01]?\d|2[0-4])[:.]([0-5]\d)", text.strip())
    if not match or int(match.group(1)) * 60 + int(match.group(2)) > 24 * 60:
        raise Invalid(N_("Enter a time like 08:00."), field)
    return int(match.group(1)) * 60 + int(match.group(2))


def hours_from_form(form) -> list:
    """Opening hours from the channel page's fields opens_1..opens_7 and closes_1..closes_7 (both empty: closed)."""
    hours = []
    for day in range(1, WEEKDAYS + 1):
        opens, closes = (str(form.get(f"{edge}_{day}", "")).strip() for edge in ("opens", "closes"))
        if not opens and not closes:
            hours.append(None)
        elif not opens or not closes:
            raise Invalid(N_("Give both the opening and the closing time, or neither for a closed day."),
                          f"opens_{day}")
        else:
            hours.append([_minutes(opens, f"opens_{day}"), _minutes(closes, f"closes_{day}")])
    return hours


def clean_opening_hours(hours: list) -> list:
    """Seven days, Monday first, each closed (None) or [opens, closes] in minutes after midnight, opening first."""
    if len(hours) != WEEKDAYS:
        raise Invalid(N_("Give the opening hours of each weekday."), "opens_1")
    for day, span in enumerate(hours, 1):
        if span is not None and not (0 <= span[0] < span[1] <= 24 * 60):
            raise Invalid(N_("A day closes after it opens."), f"closes_{day}")
    return [None if span is None else [int(span[0]), int(span[1])] for span in hours]


def clean_holidays(text: str) -> list:
    """Holidays typed as dates (2026-12-24), separated by commas, spaces or lines; sorted, each once."""
    found = set()
    for word in re.split(r"[,;\s]+", text or ""):
        if word:
            try:
                found.add(date.fromisoformat(word))
            except ValueError:
                raise Invalid(N_("Enter holidays as dates like 2026-12-24."), "holidays") from None
    if len(found) > 400:
        raise Invalid(N_("That is too many holidays: at most %(max)s."), "holidays", max=400)
    return sorted(found)
