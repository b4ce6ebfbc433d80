"""The customer barometer (issue 10): scoring customer messages, editors' corrections, and the figures.

Every customer message (a mail, a forum visitor's post or comment) gets a "sentiment.score" job in the
transaction that stores it; the worker scores it with app.sentiment and stores the label on the message.
A sweep scores whatever is still unscored (older data, jobs that gave up), and so does
`python -m app.manage score-sentiment`. An editor's correction is kept beside the machine's label and
wins. The figures come from roll-ups per day, ISO week and month that triggers keep exact (migrations 0025
and 0029); the drill-down reads the messages themselves.
"""
from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app import jobs, sentiment
from app.actors import AnyActor, require
from app.db import Database, Tx
from app.errors import Invalid, NotFound
from app.i18n import N_
from app.mail import parse

log = logging.getLogger(__name__)

JOB = "sentiment.score"
LABELS = sentiment.LABELS  # neg, neu, pos
CUSTOMER = "m.author_id IS NULL AND m.kind IN ('customer', 'comment')"
# The unscored tail the sweep takes; younger messages are left to their own jobs.
SWEEP_BATCH = 200
SWEEP_AFTER = timedelta(minutes=2)


async def queue_score_in(tx: Tx, message_id: int) -> None:
    """Score a customer message once the transaction that stores it commits (never holding up the storing)."""
    await jobs.enqueue(tx, JOB, {"message_id": message_id})


TO_SCORE = f"""
SELECT m.id, m.body_text, m.language, m.raw_mail_id IS NOT NULL AS mail
FROM messages m
WHERE m.org_id = $1 AND m.id = ANY($2::bigint[]) AND m.sentiment_scored_at IS NULL AND {CUSTOMER}
"""

# The conversation's label and the roll-ups follow by trigger (migration 0025).
STORE = """
UPDATE messages SET sentiment = $3, sentiment_compound = $4, sentiment_scored_at = now()
WHERE org_id = $1 AND id = $2 AND sentiment_scored_at IS NULL
RETURNING conversation_id
"""


def _scores(texts: list[tuple[str, str | None]]) -> list[sentiment.Score]:
    return [sentiment.score(text, lang) for text, lang in texts]


def _text(row) -> str:
    # a mail's own words, not the quoted history and signature below them
    return parse.fold_quoted(row["body_text"])[0] if row["mail"] else row["body_text"]


async def score_messages(db: Database, org_id: int, message_ids: list[int]) -> int:
    """Score these customer messages where still unscored; returns how many were stored. Safe to run twice."""
    rows = await db.read(org_id, TO_SCORE, org_id, message_ids)
    if not rows:
        return 0
    # the scorer is plain Python: in a thread, so the worker's other jobs and the lease keep going
    scores = await asyncio.get_running_loop().run_in_executor(
        None, _scores, [(_text(r), r["language"]) for r in rows])
    stored = 0
    async with db.transaction(org_id) as tx:
        for row, score in zip(rows, scores, strict=True):
            label = score.label if score.label in LABELS else None  # unk: a language we do not score
            conversation_id = await tx.fetchval(STORE, org_id, row["id"], label, score.compound)
            if conversation_id is not None:
                await tx.emit("message.scored", conversation_id=conversation_id, message_id=row["id"], label=label)
                stored += 1
    return stored


async def score_job(db: Database, job) -> None:
    """The worker's handler for "sentiment.score" jobs."""
    await score_messages(db, job.org_id, [job.payload["message_id"]])


async def sweep(db: Database, batch: int = SWEEP_BATCH, older_than: timedelta = SWEEP_AFTER) -> int:
    """Score customer messages still unscored after `older_than`, in every organisation; returns how many."""
    async with db.transaction(None, readonly=True) as tx:  # the one cross-tenant step: finding them
        found = await tx.fetch("SELECT org_id, id FROM unscored_messages($1, $2)", batch, older_than)
    by_org: dict[int, list[int]] = defaultdict(list)
    for row in found:
        by_org[row["org_id"]].append(row["id"])
    done = 0
    for org_id, ids in by_org.items():
        try:
            done += await score_messages(db, org_id, ids)
        except Exception:  # noqa: BLE001 - one organisation's fault must not hold back the others'
            log.exception("messages could not be scored", extra={"org_id": org_id})
    return done


async def score_all(db: Database) -> int:
    """Score every unscored customer message now (existing data, the demo); returns how many."""
    total = 0
    while done := await sweep(db, 500, timedelta(0)):
        total += done
    return total


# --- editors' corrections ---------------------------------------------------------------------------

CORRECT = f"""
UPDATE messages m SET sentiment_correction = $3, sentiment_corrected_by = $4, sentiment_corrected_at = now()
WHERE m.org_id = $1 AND m.id = $2 AND {CUSTOMER} AND m.sentiment_correction IS DISTINCT FROM $3
RETURNING m.conversation_id
"""


async def correct(db: Database, actor: AnyActor, message_id: int, label: str | None) -> int:
    """An editor's label for a customer message (None: back to the machine's); returns its conversation.

    The machine's label is kept beside it; the correction is what counts, and is counted as corrected.
    """
    require(actor, "message.correct_sentiment")
    if label is not None and label not in LABELS:
        raise Invalid(N_("Choose negative, neutral or positive."), "label")
    async with db.transaction(actor.org_id) as tx:
        conversation_id = await tx.fetchval(CORRECT, actor.org_id, message_id, label,
                                            actor.user_id if label else None)
        if conversation_id is None:
            conversation_id = await tx.fetchval(
                f"SELECT m.conversation_id FROM messages m WHERE m.org_id = $1 AND m.id = $2 AND {CUSTOMER}",
                actor.org_id, message_id)
            if conversation_id is None:
                raise NotFound()
            return conversation_id  # already so
        await tx.emit("message.sentiment_corrected", conversation_id=conversation_id, message_id=message_id,
                      label=label, actor_id=actor.user_id)
    return conversation_id


# --- the figures ------------------------------------------------------------------------------------

GROUPINGS = ("week", "month")
MAX_DAYS = 3 * 366  # a period of at most three years


@dataclass(frozen=True)
class Filters:
    """What the barometer shows: days `start`..`end` (inclusive, in the organisation's time zone)."""

    start: date
    end: date
    by: str = "week"
    channel_id: int | None = None
    tag_id: int | None = None
    group_id: int | None = None

    def previous(self) -> tuple[date, date]:
        """The period compared with: the calendar months before a period starting on the 1st, else as many days."""
        if self.start.day == 1:
            months = (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1
            first = _add_months(self.start, -months)
            return first, self.start - timedelta(days=1)
        return self.start - (self.end - self.start) - timedelta(days=1), self.start - timedelta(days=1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def bucket_of(day: date, by: str) -> date:
    """The first day of the ISO week or month the day is in."""
    return day - timedelta(days=day.weekday()) if by == "week" else day.replace(day=1)


def bucket_end(first: date, by: str) -> date:
    return first + timedelta(days=6) if by == "week" else _add_months(first, 1) - timedelta(days=1)


@dataclass
class Counts:
    """Scored customer messages by label, and how many of them carry an editor's correction."""

    neg: int = 0
    neu: int = 0
    pos: int = 0
    corrected: int = 0

    def add(self, label: str, messages: int, corrected: int) -> None:
        setattr(self, label, getattr(self, label) + messages)
        self.corrected += corrected

    @property
    def total(self) -> int:
        return self.neg + self.neu + self.pos

    def share(self, label: str) -> float | None:
        """Percent of the scored messages with this label; None when there are none."""
        return 100.0 * getattr(self, label) / self.total if self.total else None


@dataclass
class Row:
    """One line of a breakdown: now and in the period before."""

    key: object
    name: str
    now: Counts = field(default_factory=Counts)
    before: Counts = field(default_factory=Counts)
    group: str | None = None

    def change(self, label: str) -> float | None:
        """Percentage points since the period before; None when either has no messages."""
        now, before = self.now.share(label), self.before.share(label)
        return None if now is None or before is None else now - before


# Each roll-up by day, ISO week and calendar month (migrations 0025, 0029); the weeks and months hold whole ones.
ROLL_UPS = {"channel": {"day": "sentiment_days", "week": "sentiment_weeks", "month": "sentiment_months"},
            "tag": {"day": "sentiment_tag_days", "week": "sentiment_tag_weeks", "month": "sentiment_tag_months"},
            "group": {"day": "sentiment_group_days", "week": "sentiment_group_weeks", "month": "sentiment_group_months"}}
# The roll-ups a period is read from: the weekly bars need units within one week (weeks and days), the monthly
# bars units within one month (months and days: a week may span two), a total anything.
GRAINS = {"week": ("week",), "month": ("month",), None: ("month", "week")}


def _kind(f: Filters) -> str:
    return "tag" if f.tag_id is not None else "group" if f.group_id is not None else "channel"


def _filters(f: Filters, args: list) -> str:
    """The filters on a roll-up's rows (alias d), their arguments appended to `args`."""
    where = ""
    for column, value in (("tag_id", f.tag_id), ("group_id", f.group_id), ("channel_id", f.channel_id)):
        if value is not None and (column == "channel_id" or _kind(f) == column[:-3]):
            args.append(value)
            where += f" AND d.{column} = ${len(args)}"
    return where


def pieces(start: date, end: date, grains: tuple[str, ...] = ("month", "week")) -> list[tuple[str, date, date]]:
    """Days start..end as the whole units of the first grain within, their edges as the next grain's, and so on
    down to days: (grain, first day, last day) each."""
    if not grains:
        return [("day", start, end)]
    grain, finer = grains[0], grains[1:]
    first = bucket_of(start, grain)
    first = start if first == start else bucket_end(first, grain) + timedelta(days=1)
    last = bucket_end(bucket_of(end, grain), grain)
    last = end if last == end else bucket_of(end, grain) - timedelta(days=1)
    if first > last:
        return pieces(start, end, finer)
    return ((pieces(start, first - timedelta(days=1), finer) if start < first else []) + [(grain, first, last)]
            + (pieces(last + timedelta(days=1), end, finer) if last < end else []))


def _summed(kind: str, f: Filters, args: list, periods: list[tuple[bool, date, date]], key: str,
            bars: str | None = None) -> str:
    """Messages and corrections of one roll-up per key, `now` (which period) and label, over the periods (read for
    weekly or monthly bars, or, `bars` None, for totals)."""
    where = _filters(f, args)
    parts = []
    for now, start, end in periods:
        for grain, lo, hi in pieces(start, end, GRAINS[bars]):
            args.extend((lo, hi))
            parts.append(f"SELECT {key.format(at=f'd.{grain}')} AS key, {now} AS now, d.label, d.messages, d.corrected "
                         f"FROM {ROLL_UPS[kind][grain]} d WHERE d.org_id = $1 "
                         f"AND d.{grain} BETWEEN ${len(args) - 1} AND ${len(args)}{where}")
    return (f"SELECT key, now, label, sum(messages)::int AS n, sum(corrected)::int AS c "
            f"FROM ({' UNION ALL '.join(parts)}) d GROUP BY 1, 2, 3")


async def figures(db: Database, org_id: int, f: Filters) -> dict:
    """The barometer for these filters: per week or month, the totals, per channel, tag group and tag."""
    if f.by not in GROUPINGS:
        raise Invalid(N_("Group by week or by month."), "by")
    prev_start, prev_end = f.previous()
    periods = [(True, f.start, f.end), (False, prev_start, prev_end)]
    # tags and groups: every one, within the channel chosen (not narrowed to the tag chosen)
    every_tag = Filters(f.start, f.end, f.by, f.channel_id)
    # Each roll-up is summed first (whole months from the month roll-ups), then named.
    async with db.transaction(org_id, readonly=True) as tx:
        args: list = [org_id]
        by_bucket = await tx.fetch(_summed(_kind(f), f, args, periods[:1], f"date_trunc('{f.by}', {{at}})::date",
                                           f.by), *args)
        args = [org_id]
        by_channel = await tx.fetch(f"""SELECT d.*, ch.name FROM ({_summed(_kind(f), f, args, periods, 'd.channel_id')}) d
                                        JOIN channels ch ON ch.org_id = $1 AND ch.id = d.key""", *args)
        args = [org_id]
        by_tag = await tx.fetch(f"""SELECT d.*, t.name, g.name AS group_name
                                    FROM ({_summed("tag", every_tag, args, periods, 'd.tag_id')}) d
                                    JOIN tags t ON t.org_id = $1 AND t.id = d.key
                                    LEFT JOIN tag_groups g ON g.org_id = t.org_id AND g.id = t.group_id""", *args)
        args = [org_id]
        by_group = await tx.fetch(f"""SELECT d.*, g.name FROM ({_summed("group", every_tag, args, periods, 'd.group_id')}) d
                                      JOIN tag_groups g ON g.org_id = $1 AND g.id = d.key""", *args)
    buckets: dict[date, Counts] = {}
    first = bucket_of(f.start, f.by)
    while first <= f.end:
        buckets[first] = Counts()
        first = bucket_end(first, f.by) + timedelta(days=1)
    for r in by_bucket:
        buckets[r["key"]].add(r["label"], r["n"], r["c"])
    total = Row("total", "")
    for r in by_channel:
        (total.now if r["now"] else total.before).add(r["label"], r["n"], r["c"])
    return {"buckets": list(buckets.items()), "total": total, "channels": _rows(by_channel),
            "groups": _rows(by_group), "tags": _rows(by_tag), "previous": (prev_start, prev_end)}


def _rows(found) -> list[Row]:
    """Breakdown lines, the most negative messages in the period first."""
    rows: dict[object, Row] = {}
    for r in found:
        row = rows.setdefault(r["key"], Row(r["key"], r["name"], group=r.get("group_name")))
        (row.now if r["now"] else row.before).add(r["label"], r["n"], r["c"])
    return sorted((r for r in rows.values() if r.now.total), key=lambda r: (-r.now.neg, -r.now.total, r.name))


# --- the drill-down: exactly the messages behind a figure --------------------------------------------

PAGE = 50
# The effective label as messages_sentiment_idx spells it (migration 0025: CASE, which row-level security
# lets an index scan use, where COALESCE would be filtered row by row).
LABEL = "CASE WHEN m.sentiment_correction IS NULL THEN m.sentiment ELSE m.sentiment_correction END"
IN_PERIOD = f"{CUSTOMER} AND {LABEL} = $2 AND m.created_at >= $3 AND m.created_at < $4"

# A page is found in two steps. First its messages' keys, from indexes alone where the visibility map
# allows (migration 0029: the label's index carries the case, the cases' index their channel and spam mark),
# so finding a page of a sliver of the label's messages reads index pages, not a heap page for each
# message passed over. Then the page's rows and names, 51 of them.
PAGE_OF = """
SELECT m.id, m.conversation_id, m.created_at, m.body_text, m.sentiment, m.sentiment_correction,
       v.case_number, v.subject, ch.name AS channel_name, ch.colour AS channel_colour
FROM ({keys}) k
JOIN messages m ON m.org_id = $1 AND m.id = k.id
JOIN conversations v ON v.org_id = m.org_id AND v.id = m.conversation_id
JOIN channels ch ON ch.org_id = v.org_id AND ch.id = v.channel_id
ORDER BY k.created_at DESC, k.id DESC
"""
# The label's messages newest first from messages_sentiment_idx, each checked against the filters
# until a page is full: quick wherever the filters keep more than a sliver of them.
KEYS = """
SELECT m.id, m.created_at
FROM messages m
JOIN conversations v ON v.org_id = m.org_id AND v.id = m.conversation_id
WHERE m.org_id = $1 AND {in_period} AND NOT v.spam{where}
ORDER BY m.created_at DESC, m.id DESC LIMIT {limit}
"""
# A rare tag's (or group's) conversations first, then their messages of the label and period: quick for a tag
# with few messages ever, whose page the ordered scan would look for among the label's whole period. LATERAL
# with OFFSET 0 keeps that order (a case's messages looked up by its index), where the planner would otherwise
# flatten it.
KEYS_BY_TAG = """
WITH tagged AS MATERIALIZED ({tagged})
SELECT m.id, m.created_at
FROM tagged
CROSS JOIN LATERAL (SELECT m.id, m.created_at, m.conversation_id FROM messages m WHERE m.org_id = $1
                    AND m.conversation_id = tagged.conversation_id AND {in_period} OFFSET 0) m
JOIN conversations v ON v.org_id = $1 AND v.id = m.conversation_id
WHERE NOT v.spam{where}
ORDER BY m.created_at DESC, m.id DESC LIMIT {limit}
"""
TAGGED = "SELECT conversation_id FROM conversation_tags WHERE org_id = $1 AND tag_id = ${n}"
GROUPED = """SELECT DISTINCT ct.conversation_id FROM conversation_tags ct JOIN tags t ON t.org_id = ct.org_id
             AND t.id = ct.tag_id WHERE ct.org_id = $1 AND t.group_id = ${n}"""
# The tag (or group) checked on each message of the ordered scan: looked up in its index per message (OFFSET 0
# keeps it a per-row subplan, else the planner may join every tagged case first), quick while the scan passes
# over few messages; or, where it passes over thousands, each message's case looked up in the set of tagged
# cases, read once and hashed ("IS TRUE" keeps the IN a hashed subplan instead of a join).
PROBE = "EXISTS ({tagged} AND conversation_id = m.conversation_id OFFSET 0)"
HASHED = "(m.conversation_id IN ({tagged})) IS TRUE"
# Most tagged messages (about as many cases, at most) hashed for one page: well within work_mem (4 MB), where
# a hashed subplan must fit (else it is scanned again for each message).
HASHED_AT_MOST = 50_000
# Messages the tag (or group) has had, ever: about what reading its cases first costs.
EVER = """SELECT coalesce(sum(messages), 0) FROM {table} d WHERE d.org_id = $1 AND d.{column} = $2"""


def day_start(day: date, time_zone: str) -> datetime:
    """Midnight at the start of a day in the organisation's time zone."""
    return datetime.combine(day, time(0), ZoneInfo(time_zone))


async def drill_down(db: Database, org_id: int, time_zone: str, f: Filters, label: str,
                     after: tuple[datetime, int] | None = None) -> tuple[list, tuple[datetime, int] | None]:
    """One page of the customer messages with this label in the filters' period, newest first, and the
    key of the next page (None on the last)."""
    if label not in LABELS:
        raise Invalid(N_("Choose negative, neutral or positive."), "label")
    args: list = [org_id, label, day_start(f.start, time_zone), day_start(f.end + timedelta(days=1), time_zone)]
    where, tagged = "", None
    if f.channel_id is not None:
        args.append(f.channel_id)
        where += f" AND v.channel_id = ${len(args)}"
    if f.tag_id is not None or f.group_id is not None:
        args.append(f.tag_id if f.tag_id is not None else f.group_id)
        tagged = (TAGGED if f.tag_id is not None else GROUPED).format(n=len(args))
    if after is not None:
        args.extend(after)
        where += f" AND (m.created_at, m.id) < (${len(args) - 1}, ${len(args)})"
    async with db.transaction(org_id, readonly=True) as tx:  # one round of BEGIN and COMMIT for all of it
        way = "scan" if tagged is None else await _way(tx, org_id, f, label)
        rows = await tx.fetch(PAGE_OF.format(keys=_keys(way, tagged, where)), *args)
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    return rows, ((rows[-1]["created_at"], rows[-1]["id"]) if more else None)


def _keys(way: str, tagged: str | None, where: str) -> str:
    """The query for a page's keys, found this way."""
    if way == "tag_first":
        return KEYS_BY_TAG.format(tagged=tagged, in_period=IN_PERIOD, where=where, limit=PAGE + 1)
    check = "" if tagged is None else " AND " + (PROBE if way == "probe" else HASHED).format(tagged=tagged)
    return KEYS.format(in_period=IN_PERIOD, where=where + check, limit=PAGE + 1)


async def _way(tx: Tx, org_id: int, f: Filters, label: str) -> str:
    """How to find a page of a tag's (or group's) messages, by what each way costs, in index pages about, from
    the roll-ups' counts: "probe" (the label's messages in order, each case's tags looked up), "hashed" (the
    same, each case looked up in the tagged cases' set) or "tag_first" (the tagged cases' messages)."""
    narrow = (await _count(tx, org_id, f, label)).total
    wide = (await _count(tx, org_id, Filters(f.start, f.end, f.by, f.channel_id), label)).total
    kind = _kind(f)
    ever = await tx.fetchval(EVER.format(table=ROLL_UPS[kind]["month"], column=f"{kind}_id"),
                             org_id, f.tag_id if kind == "tag" else f.group_id)
    return way_for(narrow, wide, ever)


def way_for(narrow: int, wide: int, ever: int) -> str:
    """The cheapest way for `narrow` of the label's `wide` messages in the period to be the tag's, which has
    had `ever` messages (about as many cases, at most). Costs in index pages, about: a lookup reads three,
    hashing a case costs about a twentieth of one, and passing over an entry of the label's index (a hundred
    or so to a page) with a look into the hash about a fiftieth."""
    passed = min(wide, PAGE * wide / max(narrow, 1))  # the label's messages read until a page is full
    costs = {"probe": 3 * passed, "tag_first": 4 * ever}
    if ever <= HASHED_AT_MOST:
        costs["hashed"] = ever / 20 + passed / 50
    return min(costs, key=costs.get)


async def count(db: Database, org_id: int, f: Filters, label: str) -> Counts:
    """The roll-up's figure for one label in the filters' period (what the drill-down lists, exactly)."""
    async with db.transaction(org_id, readonly=True) as tx:
        return await _count(tx, org_id, f, label)


async def _count(tx: Tx, org_id: int, f: Filters, label: str) -> Counts:
    args: list = [org_id]
    sql = _summed(_kind(f), f, args, [(True, f.start, f.end)], "d.label")
    counts = Counts()
    for r in await tx.fetch(sql, *args):
        if r["label"] == label:
            counts.add(label, r["n"], r["c"])
    return counts


async def choices(db: Database, org_id: int) -> dict:
    """The channels, tag groups and tags to filter by, by name."""
    async with db.transaction(org_id, readonly=True) as tx:
        return {
            "channels": await tx.fetch("SELECT id, name FROM channels WHERE org_id = $1 ORDER BY lower(name), id",
                                       org_id),
            "groups": await tx.fetch("SELECT id, name FROM tag_groups WHERE org_id = $1 ORDER BY lower(name), id",
                                     org_id),
            "tags": await tx.fetch(
                """SELECT t.id, t.name, g.name AS group_name FROM tags t
                   LEFT JOIN tag_groups g ON g.org_id = t.org_id AND g.id = t.group_id
                   WHERE t.org_id = $1 ORDER BY lower(g.name) NULLS LAST, lower(t.name), t.id""", org_id),
        }
