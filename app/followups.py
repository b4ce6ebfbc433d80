"""Follow-ups: the time an editor wants a case back in front of the team, and the sweep that brings it.

When a follow-up comes due, a worker sweep (workers/worker.py) marks it due, appends
conversation.follow_up_due and notifies the assignee, or every editor and admin of the team when
no one is assigned. Each follow-up is notified exactly once, however many workers sweep at once.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from app import notifications
from app.actors import AnyActor, require
from app.db import Database, Tx
from app.errors import Invalid, NotFound
from app.i18n import N_

log = logging.getLogger(__name__)

FIELD = "follow_up_at"
MAX_AHEAD = timedelta(days=366)
MORNING = time(9, 0)  # "tomorrow" and "next Monday" mean the start of a working day
QUICK_CHOICES = ("tomorrow", "in_3_days", "next_monday")
SWEEP_BATCH = 100

# The sweep's claim in one organisation: due follow-ups among those it found, not yet notified, and
# not being notified by another worker right now (SKIP LOCKED). A row another worker notified since
# it was found fails the re-check on `follow_up_due`, so each follow-up is claimed exactly once.
CLAIM_DUE = """
UPDATE conversations v SET follow_up_due = true
FROM (
    SELECT id FROM conversations
    WHERE org_id = $1 AND id = ANY ($2::bigint[])
      AND follow_up_at IS NOT NULL AND NOT follow_up_due AND follow_up_at <= now()
    ORDER BY follow_up_at, id
    FOR UPDATE SKIP LOCKED
) due
WHERE v.org_id = $1 AND v.id = due.id
RETURNING v.id, v.assignee_id, v.follow_up_at
"""

# Who hears of a follow-up on an unassigned case: everyone who works cases, away or not (the
# reminder waits in their list for when they are back).
TEAM = ("SELECT user_id FROM memberships WHERE org_id = $1 AND role IN ('admin', 'editor') AND ended_at IS NULL "
        "ORDER BY user_id")

# The dashboard's follow-up view: the organisation's due follow-ups, earliest first
# (conversations_follow_up_idx).
DUE_IN_ORG = """
SELECT id, case_number, subject, assignee_id, follow_up_at, follow_up_due FROM conversations
WHERE org_id = $1 AND follow_up_at IS NOT NULL AND follow_up_at <= now()
ORDER BY follow_up_at, id
LIMIT $2
"""


def _at(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz).astimezone(timezone.utc)


def quick_time(choice: str, time_zone: str, now: datetime | None = None) -> datetime:
    """A quick choice ("tomorrow" 09:00, "in_3_days", "next_monday" 09:00) in the organisation's time zone."""
    tz = ZoneInfo(time_zone)
    local = (now or datetime.now(timezone.utc)).astimezone(tz)
    if choice == "tomorrow":
        return _at(local.date() + timedelta(days=1), MORNING, tz)
    if choice == "in_3_days":  # the same wall-clock time, across a change to or from summer time too
        return _at(local.date() + timedelta(days=3), local.time().replace(second=0, microsecond=0), tz)
    if choice == "next_monday":
        return _at(local.date() + timedelta(days=7 - local.weekday()), MORNING, tz)
    raise Invalid(N_("Unknown quick choice."), FIELD)


def parse_time(typed: str, time_zone: str) -> datetime:
    """A date and time as typed ("2026-12-01T09:00" or "2026-12-01 09:00"), in the organisation's time zone."""
    typed = (typed or "").strip()
    try:
        if len(typed) < 12:  # a date alone is no time to be reminded at
            raise ValueError(typed)
        at = datetime.fromisoformat(typed)
    except ValueError:
        raise Invalid(N_("Enter a date and a time."), FIELD) from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo(time_zone))
    return at.astimezone(timezone.utc)


def chosen_time(actor: AnyActor, typed: str, quick: str = "", now: datetime | None = None) -> datetime:
    """The time the follow-up form asks for: a quick choice, else the typed date and time (the organisation's zone)."""
    require(actor, "conversation.follow_up")  # before the input, so a viewer learns nothing from it
    if quick:
        return quick_time(quick, actor.time_zone, now)
    return parse_time(typed, actor.time_zone)


async def set_follow_up(db: Database, actor: AnyActor, conversation_id: int, at: datetime | None,
                        now: datetime | None = None) -> None:
    """Set the case's follow-up time (a time ahead, within a year), or clear it with None."""
    require(actor, "conversation.follow_up")
    if at is not None:
        now, at = now or datetime.now(timezone.utc), at.replace(second=0, microsecond=0)  # to the minute
        if at <= now:
            raise Invalid(N_("Choose a time in the future."), FIELD)
        if at > now + MAX_AHEAD:
            raise Invalid(N_("Choose a time within a year."), FIELD)
    async with db.transaction(actor.org_id) as tx:
        changed = await tx.fetchval(
            """UPDATE conversations SET follow_up_at = $3, follow_up_due = false, updated_at = now()
               WHERE org_id = $1 AND id = $2 AND (follow_up_at IS DISTINCT FROM $3 OR follow_up_due)
               RETURNING 1""",
            actor.org_id, conversation_id, at)
        if not changed:
            if not await tx.fetchval("SELECT 1 FROM conversations WHERE org_id = $1 AND id = $2",
                                     actor.org_id, conversation_id):
                raise NotFound()
            return
        await tx.emit("conversation.follow_up_set", conversation_id=conversation_id,
                      follow_up_at=at.isoformat() if at else None, actor_id=actor.user_id)


async def due_in_org(db: Database, org_id: int, limit: int = 100) -> list:
    """The organisation's follow-ups that have come due, earliest first (the dashboard's follow-up view)."""
    return await db.read(org_id, DUE_IN_ORG, org_id, limit)


async def _notify_due(tx: Tx, conversation_ids: list[int]) -> int:
    claimed = await tx.fetch(CLAIM_DUE, tx.org_id, conversation_ids)
    team = None
    for row in claimed:
        await tx.emit("conversation.follow_up_due", conversation_id=row["id"],
                      follow_up_at=row["follow_up_at"].isoformat())
        if row["assignee_id"] is not None:
            recipients = [row["assignee_id"]]
        else:
            team = team if team is not None else [r["user_id"] for r in await tx.fetch(TEAM, tx.org_id)]
            recipients = team
        await notifications.notify_in(tx, recipients, "follow_up_due", row["id"])
    return len(claimed)


async def sweep(db: Database, batch: int = SWEEP_BATCH) -> int:
    """Notify every follow-up that has come due, in every organisation; returns how many."""
    done = 0
    while True:
        async with db.transaction(None, readonly=True) as tx:  # the one cross-tenant step: finding them
            found = await tx.fetch("SELECT org_id, id FROM due_follow_ups($1)", batch)
        by_org: dict[int, list[int]] = defaultdict(list)
        for row in found:
            by_org[row["org_id"]].append(row["id"])
        claimed = 0
        for org_id, ids in by_org.items():
            try:
                async with db.transaction(org_id) as tx:
                    claimed += await _notify_due(tx, ids)
            except Exception:  # noqa: BLE001 - one organisation's fault must not hold back the others'
                log.exception("follow-ups could not be notified", extra={"org_id": org_id})
        done += claimed
        # a short batch was all there is; none claimed means other workers hold the rest
        if len(found) < batch or not claimed:
            return done
