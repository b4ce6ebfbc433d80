"""The dashboard's views: each a server query with keyset paging, their counts, and bulk actions.

A view's page costs the same at a million conversations as at a hundred: it walks its own
partial index (migration 0021) from a cursor, and its count is kept by the write path
(the dashboard_counts trigger), never counted on demand.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from app import conversations, tags
from app.actors import AnyActor, require
from app.db import Database
from app.errors import Invalid, NotFound
from app.i18n import N_
from app.templating import EPOCH, micros

PAGE = 50  # a first screenful; more come on scroll


@dataclass(frozen=True)
class View:
    name: str
    where: str  # over `v`, conversations; constant SQL, never user input
    match: str  # the same, over a row's data-* attributes: what static/live.js keeps a pushed row by
    sort: str  # the column the view is ordered by (with the id breaking ties)
    default_order: str  # "newest" (descending) or "oldest" (ascending)


OPEN = "v.status = 'open' AND NOT v.spam"  # spam never reaches a pushed row: it is deleted instead
VIEWS = {view.name: view for view in (
    View("unanswered", OPEN + " AND v.needs_reply", "state=open needs-reply=true", "created_at", "newest"),
    View("mine", OPEN, "state=open assignee={me}", "created_at", "newest"),  # AND v.assignee_id = the viewer
    View("unassigned", OPEN + " AND v.assignee_id IS NULL", "state=open assignee=", "created_at", "newest"),
    View("follow_up", "v.follow_up_at IS NOT NULL AND NOT v.spam", "follow-up!=", "follow_up_at",
         "oldest"),  # due soonest first
    View("open", OPEN, "state=open", "created_at", "newest"),
    View("closed", "v.status IN ('closed', 'archived') AND NOT v.spam", "state=closed", "created_at", "newest"),
)}
DEFAULT_VIEW = "open"
ORDERS = ("newest", "oldest")
MAX_MICROS = micros(datetime.max.replace(tzinfo=timezone.utc))  # a cursor past this is no time at all


def whole(value) -> int | None:
    """A positive id (or cursor part) as typed into a URL or form, or None for anything else."""
    text = str(value or "")
    return int(text) if text.isascii() and text.isdigit() and 0 < int(text) < 2**63 else None


@dataclass(frozen=True)
class Query:
    """What the dashboard shows: a view, its order, maybe one channel, from a cursor on."""

    view: str = DEFAULT_VIEW
    order: str = ""  # "" = the view's default
    channel_id: int | None = None
    after: tuple[int, int] | None = None  # (sort key in microseconds, id) of the last row already shown

    @property
    def direction(self) -> str:
        return self.order or VIEWS[self.view].default_order

    @classmethod
    def parse(cls, params) -> Query:
        """From the page's query string; anything unknown falls back to the default."""
        view = params.get("view") if params.get("view") in VIEWS else DEFAULT_VIEW
        order = params.get("order") if params.get("order") in ORDERS else ""
        after = [whole(part) for part in str(params.get("after", "")).split("_")]
        return cls(view, order if order != VIEWS[view].default_order else "", whole(params.get("channel")),
                   (after[0], after[1]) if len(after) == 2 and None not in after and after[0] < MAX_MICROS
                   else None)

    def match(self, user_id: int | None) -> str:
        """The list's data-match: what a row must carry to belong in this view (and channel)."""
        spec = VIEWS[self.view].match.format(me=user_id or "")
        return spec + (f" channel={self.channel_id}" if self.channel_id is not None else "")

    def params(self, **changes) -> dict:
        """The query string of this query with some parts changed (None or "" drops a part)."""
        values = {"view": self.view if self.view != DEFAULT_VIEW else None, "order": self.order or None,
                  "channel": self.channel_id, **changes}
        return {k: v for k, v in values.items() if v not in (None, "")}


@dataclass(frozen=True)
class Page:
    rows: list
    more: str | None  # the cursor of the next page ("<micros>_<id>"), None at the end


def page_sql(query: Query, org_id: int, user_id: int | None, limit: int) -> tuple[str, list]:
    """The view's SQL and its arguments: only constant fragments are joined, every value is a parameter."""
    view, args = VIEWS[query.view], [org_id]

    def arg(value) -> str:
        args.append(value)
        return f"${len(args)}"

    where = [view.where]
    if view.name == "mine":
        where.append(f"v.assignee_id = {arg(user_id)}")
    if query.channel_id is not None:
        where.append(f"v.channel_id = {arg(query.channel_id)}")
    descending = query.direction == "newest"
    if query.after is not None:
        at, after_id = query.after
        where.append(f"(v.{view.sort}, v.id) {'<' if descending else '>'} "
                     f"({arg(EPOCH + timedelta(microseconds=at))}::timestamptz, {arg(after_id)}::bigint)")
    direction = "DESC" if descending else ""
    sql = (conversations.ROW.format(where="AND " + " AND ".join(where))
           + f" ORDER BY v.{view.sort} {direction}, v.id {direction} LIMIT {arg(limit + 1)}")
    return sql, args


async def page(db: Database, org_id: int, user_id: int | None, query: Query, limit: int = PAGE) -> Page:
    """One page of a view, after the query's cursor."""
    sql, args = page_sql(query, org_id, user_id, limit)
    rows = await db.read(org_id, sql, *args)
    if len(rows) <= limit:
        return Page(rows, None)
    last = rows[limit - 1]
    return Page(rows[:limit], f"{micros(last[VIEWS[query.view].sort])}_{last['id']}")


# --- counts -------------------------------------------------------------------------------------

COUNTS = "SELECT bucket, key, n FROM dashboard_counts WHERE org_id = $1 AND (bucket <> 'mine' OR key = ANY($2))"
SHARED = ("unanswered", "unassigned", "follow_up", "open", "closed")


@dataclass(frozen=True)
class Counts:
    views: dict[str, int]  # every view but "mine", for the whole team
    mine: dict[int, int]  # user id → their open assigned conversations
    channels: dict[int, int]  # channel id → its open conversations


async def counts(db: Database, org_id: int, user_ids: list[int]) -> Counts:
    """How many conversations each view and channel holds (and "mine" for these people): a few rows read."""
    views, mine, by_channel = dict.fromkeys(SHARED, 0), dict.fromkeys(user_ids, 0), {}
    for r in await db.read(org_id, COUNTS, org_id, user_ids):
        if r["bucket"] == "mine":
            mine[r["key"]] = r["n"]
        elif r["bucket"] == "channel":
            by_channel[r["key"]] = r["n"]
        else:
            views[r["bucket"]] = r["n"]
    return Counts(views, mine, by_channel)


# --- bulk actions -------------------------------------------------------------------------------

BULK_ACTIONS = ("assign", "tag", "close")
MAX_BULK = 500
CLOSED = {"mail": "closed", "forum": "archived"}  # "close" archives a forum thread

LOCK_ALL = """
SELECT id, kind FROM conversations WHERE org_id = $1 AND id = ANY($2::bigint[]) ORDER BY id FOR UPDATE
"""


async def bulk(db: Database, actor: AnyActor, conversation_ids: list[int], action: str, value: int | None = None
               ) -> int:
    """Assign (value: a member, None unassigns), tag (value: a tag) or close (forum: archive) many at once.

    One transaction: all change or none does. Each conversation that changes gets its own event, as if
    changed alone; rows are locked in id order, so a single change racing it waits or goes first.
    Returns how many conversations changed.
    """
    require(actor, "conversation.bulk")
    if action not in BULK_ACTIONS:
        raise Invalid(N_("Choose what to do with the selected conversations."), "action")
    ids = sorted(set(conversation_ids))
    if not ids:
        raise Invalid(N_("Select at least one conversation."), "conversation_id")
    if len(ids) > MAX_BULK:
        raise Invalid(N_("That is too many at once: at most %(max)s."), "conversation_id", max=MAX_BULK)
    if action == "tag" and value is None:
        raise Invalid(N_("Choose a tag."), "tag_id")
    changed = 0
    async with db.transaction(actor.org_id) as tx:
        locked = await tx.fetch(LOCK_ALL, actor.org_id, ids)
        if len(locked) != len(ids):
            raise NotFound()  # gone, or another organisation's: nothing changes
        for row in locked:
            if action == "assign":
                changed += await conversations.assign_in(tx, actor, row["id"], value)
            elif action == "tag":
                changed += await tags.tag_in(tx, actor, row["id"], value)
            else:
                changed += await conversations.set_status_in(tx, actor, row["id"], CLOSED[row["kind"]])
    return changed
