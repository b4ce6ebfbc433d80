"""Statistics: volumes and response times per period, from the roll-ups of migrations 0026 and 0028.

The roll-ups per day (`stats_daily`) and per ISO week and month (`stats_spans`) are kept by triggers in
every transaction that changes what they count, so the screen reads whole months and weeks and only the
days at a period's edges: a couple of hundred rows whatever the volume. Each conversation's contribution
(`stats_conversations`, computed by the view `stats_source` from the base tables) is what the roll-ups
add up, and the lists behind each number select from those same contributions: one definition, so a
number and its list always agree.

Definitions (stated on the screen's help too): figures are about the conversations that came in during
the period, by their day of arrival in the organisation's time zone; weeks are ISO weeks. First response:
an editor's first reply (mail) or first official answer or comment (forum). Resolution: each close of a
mail case (from arrival, or from its reopening), and the first official or accepted answer in a thread.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from app.actors import AnyActor, require
from app.db import Database
from app.errors import Invalid
from app.i18n import N_

# Lower bounds in seconds of the histogram buckets; the migration's stats_bounds() says the same.
BOUNDS = (0, 60, 120, 180, 240, 300, 420, 600, 900, 1200, 1500, 1800, 2400, 3000, 3600, 4500, 5400, 6300,
          7200, 9000, 10800, 12600, 14400, 18000, 21600, 25200, 28800, 36000, 43200, 50400, 57600, 72000,
          86400, 108000, 129600, 151200, 172800, 216000, 259200, 345600, 432000, 518400, 604800, 864000,
          1209600, 1814400, 2592000, 3888000, 5184000)

PRESETS = ("this_week", "last_week", "last_30_days", "this_month", "last_month", "this_year", "custom")
GROUPINGS = ("day", "week", "month")
KINDS = ("mail", "forum")
# What a list behind a number shows: a predicate on the conversation's stored contribution s (stats_conversations,
# what the roll-ups count, kept in the same transaction as every change), so a number and its list always agree;
# and the roll-ups' count of it per day (d, a stats_daily row), which tells the list which days to read.
MEASURES = {
    "incoming": ("NOT s.spam", "d.incoming"),
    "answered": ("NOT s.spam AND s.first_response IS NOT NULL", "d.answered"),
    "unanswered": ("NOT s.spam AND s.first_response IS NULL AND NOT s.no_reply", "d.incoming - d.answered - d.no_reply"),
    "in_target": ("NOT s.spam AND s.in_target", "d.in_target"),
    "resolved": ("NOT s.spam AND cardinality(s.resolutions) > 0", "d.resolved"),
    "no_reply": ("NOT s.spam AND s.no_reply", "d.no_reply"),
    "spam": ("s.spam", "d.spam"),
}
MAX_DAYS = 3 * 366  # a longer period is refused: one screen, a few years at most


@dataclass(frozen=True)
class Filters:
    """What the screen shows: a period (days in the organisation's time zone, end included) and filters."""

    start: date
    end: date
    preset: str = "custom"
    grouping: str = "week"
    channel_id: int | None = None
    group_id: int | None = None
    tag_id: int | None = None
    assignee_id: int | None = None  # -1: unassigned

    def query(self, **narrow) -> dict:
        """The filters as URL parameters (a period as from–to), with narrowing parameters for a list."""
        params = {"preset": "custom", "from": self.start.isoformat(), "to": self.end.isoformat(),
                  "grouping": self.grouping}
        for name in ("channel_id", "group_id", "tag_id", "assignee_id"):
            if getattr(self, name) is not None:
                params[name] = str(getattr(self, name))
        params.update({k: str(v) for k, v in narrow.items() if v is not None})
        return params


def preset_period(preset: str, today: date) -> tuple[date, date]:
    """A preset's first and last day, for `today` in the organisation's time zone."""
    monday = today - timedelta(days=today.weekday())
    first_of_month = today.replace(day=1)
    if preset == "this_week":
        return monday, monday + timedelta(days=6)
    if preset == "last_week":
        return monday - timedelta(days=7), monday - timedelta(days=1)
    if preset == "last_30_days":
        return today - timedelta(days=29), today
    if preset == "this_month":
        return first_of_month, (first_of_month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    if preset == "last_month":
        end = first_of_month - timedelta(days=1)
        return end.replace(day=1), end
    if preset == "this_year":
        return today.replace(month=1, day=1), today.replace(month=12, day=31)
    raise Invalid(N_("Choose a period."), "preset")


def _id(params, name: str, allow_unassigned: bool = False) -> int | None:
    value = (params.get(name) or "").strip()
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        raise Invalid(N_("Choose from the list."), name) from None
    if not (0 < number < 2**63 or allow_unassigned and number == -1):
        raise Invalid(N_("Choose from the list."), name)
    return number


def _day(params, name: str) -> date:
    try:
        return date.fromisoformat((params.get(name) or "").strip())
    except ValueError:
        raise Invalid(N_("Enter a date like 2026-03-31."), name) from None


def parse_filters(params, today: date) -> Filters:
    """The screen's filters from its query string; Invalid (with the field) for what cannot be used."""
    preset = params.get("preset") or "last_30_days"
    if preset not in PRESETS:
        raise Invalid(N_("Choose a period."), "preset")
    grouping = params.get("grouping") or "week"
    if grouping not in GROUPINGS:
        raise Invalid(N_("Choose day, week or month."), "grouping")
    if preset == "custom":
        start, end = _day(params, "from"), _day(params, "to")
        if start > end:
            raise Invalid(N_("The period starts after it ends: choose a start date before the end date."), "from")
        if (end - start).days >= MAX_DAYS:
            raise Invalid(N_("Choose a period of at most three years."), "from")
    else:
        start, end = preset_period(preset, today)
    return Filters(start, end, preset, grouping, _id(params, "channel_id"), _id(params, "group_id"),
                   _id(params, "tag_id"), _id(params, "assignee_id", allow_unassigned=True))


def narrowed(filters: Filters, params) -> Filters:
    """A list's filters narrowed to one period of the grouping (`period`, its first day) when given."""
    if not params.get("period"):
        return filters
    first = _day(params, "period")
    if filters.grouping == "day":
        last = first
    elif filters.grouping == "week":
        first = first - timedelta(days=first.weekday())
        last = first + timedelta(days=6)
    else:
        first = first.replace(day=1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return replace(filters, start=max(filters.start, first), end=min(filters.end, last))


# --- the roll-ups ---------------------------------------------------------------------------------

def _sums(column: str, n: int) -> str:
    return "ARRAY[" + ", ".join(f"sum(d.{column}[{i}])" for i in range(1, n + 1)) + "]::bigint[]"


@dataclass(frozen=True)
class Pieces:
    """A period as the roll-ups hold it: whole months and ISO weeks (their first days) and the days left over."""

    days: list[date]
    weeks: list[date]
    months: list[date]


def pieces(start: date, end: date, grouping: str | None = None) -> Pieces:
    """The fewest roll-up rows that add up to the days start–end: a whole month or week where it fits, days at
    the edges. Grouped by week, months are not used (they cut weeks), grouped by month a week only inside one
    month; grouped by day, only days. None: any."""
    found = Pieces([], [], [])
    day = start
    while day <= end:
        week_end = day + timedelta(days=6)
        month_end = (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        if grouping in (None, "month") and day.day == 1 and month_end <= end:
            found.months.append(day)
            day = month_end
        elif (grouping in (None, "week") or grouping == "month" and week_end.month == day.month) \
                and day.weekday() == 0 and week_end <= end:
            found.weeks.append(day)
            day = week_end
        else:
            found.days.append(day)
        day += timedelta(days=1)
    return found


def _rows(columns: str, daily_columns: str | None = None,
          where: str = "d.tag_id = $2 AND d.group_id = $3 AND d.assignee_id = $4", n: int = 5) -> str:
    """A period's roll-up rows ($1 organisation, `where`; $n channel or null, then its days, weeks and months, as
    pieces() gives them) with these columns: the days from stats_daily, the weeks and months from stats_spans
    (`daily_columns` where a day row says it otherwise)."""
    where = f"d.org_id = $1 AND {where} AND (${n}::bigint IS NULL OR d.channel_id = ${n})"
    return f"""(
    SELECT d.day, d.channel_id, {daily_columns or columns} FROM stats_daily d
    WHERE {where} AND d.day = ANY(${n + 1}::date[])
    UNION ALL
    SELECT d.day, d.channel_id, {columns} FROM stats_spans d
    WHERE {where} AND (d.span = 'week' AND d.day = ANY(${n + 2}::date[])
                       OR d.span = 'month' AND d.day = ANY(${n + 3}::date[]))
) d"""


COUNTS = ("incoming", "spam", "no_reply", "answered", "in_target", "resolved")


# One row per (group of days, channel kind) with the counts and the histograms asked for, each summed bucket by
# bucket with plain sum(): a period's rows are read once, without unnesting. What each use asks for is all it
# pays for (each summed bucket costs on every row).
def _by_period(histograms: tuple[str, ...]) -> str:
    return f"""
SELECT date_trunc($9, d.day::timestamp)::date AS key, ch.kind,
       {", ".join(f"sum(d.{c})::bigint AS {c}" for c in COUNTS)}
       {"".join(f", {_sums(h, len(BOUNDS))} AS {h}" for h in histograms)}
FROM {_rows(", ".join((*COUNTS, *histograms)))}
JOIN channels ch ON ch.org_id = $1 AND ch.id = d.channel_id
GROUP BY 1, 2 ORDER BY 1, 2
"""


HISTOGRAMS = ("first_response", "first_response_open", "resolution")
BY_PERIOD = {"all": _by_period(HISTOGRAMS), "counts": _by_period(()), "first_response": _by_period(("first_response",))}
# Busiest weekdays and hours: the incoming per weekday (a day row's by its date) and per hour.
_DAY_WEEKDAYS = "ARRAY[" + ", ".join(f"(extract(isodow FROM d.day) = {i})::int * d.incoming" for i in range(1, 8)) + "]"
BY_WEEKDAY = f"""
SELECT ch.kind, {_sums("weekdays", 7)} AS weekdays, {_sums("hours", 24)} AS hours
FROM {_rows("d.weekdays, d.hours", f"{_DAY_WEEKDAYS} AS weekdays, d.hours")}
JOIN channels ch ON ch.org_id = $1 AND ch.id = d.channel_id
GROUP BY 1 ORDER BY 1
"""

# Counts per tag and per tag group (whatever tag filter is chosen: each row is its own filter); summed first,
# named after, read from the partial indexes of tag rows alone.
BY_TAG = f"""
SELECT n.tag_id, n.group_id, coalesce(t.name, g.name) AS name, tg.name AS tag_group, ch.kind, n.incoming
FROM (SELECT d.tag_id, d.group_id, d.channel_id, sum(d.incoming)::bigint AS incoming
      FROM {_rows("d.tag_id, d.group_id, d.incoming", where="(d.tag_id <> 0 OR d.group_id <> 0) AND d.assignee_id = $2",
                  n=3)}
      GROUP BY 1, 2, 3) n
JOIN channels ch ON ch.org_id = $1 AND ch.id = n.channel_id
LEFT JOIN tags t ON t.org_id = $1 AND t.id = n.tag_id
LEFT JOIN tag_groups tg ON tg.org_id = t.org_id AND tg.id = t.group_id
LEFT JOIN tag_groups g ON g.org_id = $1 AND g.id = n.group_id
ORDER BY n.group_id = 0, n.incoming DESC, 3
"""


@dataclass
class Figures:
    """The sums of one group of rows (a period, a weekday, or the whole period) for one kind of channel."""

    incoming: int = 0
    spam: int = 0
    no_reply: int = 0
    answered: int = 0
    in_target: int = 0
    resolved: int = 0
    hours: list[int] | None = None
    first_response: list[int] | None = None
    first_response_open: list[int] | None = None
    resolution: list[int] | None = None

    def add(self, row) -> None:
        """Add a row's sums (of the columns it has)."""
        for name in ("incoming", "spam", "no_reply", "answered", "in_target", "resolved"):
            if name in row:
                setattr(self, name, getattr(self, name) + row[name])
        for name in ("hours", "first_response", "first_response_open", "resolution"):
            counts = getattr(self, name)
            if name in row:
                setattr(self, name, list(row[name]) if counts is None
                        else [a + b for a, b in zip(counts, row[name], strict=True)])

    @property
    def needing_reply(self) -> int:
        return self.incoming - self.no_reply

    @property
    def target_share(self) -> float | None:
        """Answered within the channel's target (within opening hours), of those that needed a reply."""
        return self.in_target / self.needing_reply if self.needing_reply else None

    def percentile(self, name: str, p: float) -> float | None:
        return percentile(getattr(self, name) or [], p)


def percentile(histogram: list[int], p: float) -> float | None:
    """The p-th quantile (0–1) in seconds from bucket counts, interpolated within its bucket."""
    total = sum(histogram)
    if not total:
        return None
    rank = p * total
    seen = 0
    for i, n in enumerate(histogram):
        if n and seen + n >= rank:
            low = BOUNDS[i]
            if i + 1 == len(BOUNDS):
                return float(low)  # the open-ended last bucket: at least this
            return low + (BOUNDS[i + 1] - low) * max(0.0, rank - seen) / n
        seen += n
    return float(BOUNDS[-1])


@dataclass
class Report:
    filters: Filters
    periods: list[tuple[date, dict[str, Figures]]]  # each group of days with its figures per kind
    totals: dict[str, Figures]
    weekdays: dict[int, dict[str, Figures]]  # ISO weekday (1 Monday) → figures per kind
    tags: list  # rows of BY_TAG


def _dimension(filters: Filters, tag_group_of: dict[int, int | None]) -> tuple[int, int] | None:
    """The roll-ups' (tag_id, group_id) for the tag filters; None when a tag outside the chosen group is asked."""
    if filters.tag_id is not None:
        if filters.group_id is not None and tag_group_of.get(filters.tag_id) != filters.group_id:
            return None
        return filters.tag_id, 0
    return 0, filters.group_id or 0


async def report(db: Database, actor: AnyActor, filters: Filters, *, periods: str | None = "all",
                 weekdays: bool = True, tags: bool = True) -> Report:
    """The statistics screen's figures for these filters, from the roll-ups: per period (with the histograms
    of BY_PERIOD[periods]; None: not asked), per weekday and hour, per tag; a chart asks for its part alone."""
    require(actor, "stats.read")
    org_id = actor.org_id
    by_period = by_weekday = by_tag = []
    async with db.transaction(org_id, readonly=True) as tx:
        tag_group_of = dict(await tx.fetch("SELECT id, group_id FROM tags WHERE org_id = $1", org_id))
        dimension = _dimension(filters, tag_group_of) or (-1, -1)  # no roll-up rows have -1: nothing
        common = (org_id, *dimension, filters.assignee_id or 0, filters.channel_id)
        anyhow = pieces(filters.start, filters.end)
        if periods:
            grouped_pieces = pieces(filters.start, filters.end, filters.grouping)
            by_period = await tx.fetch(BY_PERIOD[periods], *common, grouped_pieces.days, grouped_pieces.weeks,
                                       grouped_pieces.months, filters.grouping)
        if weekdays:
            by_weekday = await tx.fetch(BY_WEEKDAY, *common, anyhow.days, anyhow.weeks, anyhow.months)
        if tags:
            by_tag = await tx.fetch(BY_TAG, org_id, filters.assignee_id or 0, filters.channel_id, anyhow.days,
                                    anyhow.weeks, anyhow.months)
    grouped: dict[date, dict[str, Figures]] = {start: {k: Figures() for k in KINDS} for start in _period_starts(filters)}
    totals = {kind: Figures() for kind in KINDS}
    for row in by_period:
        kind = "mail" if row["kind"] == "mailbox" else "forum"
        grouped.setdefault(row["key"], {k: Figures() for k in KINDS})[kind].add(row)
        totals[kind].add(row)
    by_day = {d: {kind: Figures() for kind in KINDS} for d in range(1, 8)}
    for kind in KINDS:
        totals[kind].hours = [0] * 24
    for row in by_weekday:  # the hours come with the weekdays
        kind = "mail" if row["kind"] == "mailbox" else "forum"
        for d in by_day:
            by_day[d][kind].incoming += row["weekdays"][d - 1]
        totals[kind].hours = [a + b for a, b in zip(totals[kind].hours, row["hours"], strict=True)]
    return Report(filters, sorted(grouped.items()), totals, by_day, by_tag)


def _period_starts(filters: Filters) -> list[date]:
    """The first day of each group of days in the period (a week's Monday, a month's first), empty ones too."""
    starts, day = [], filters.start
    while day <= filters.end:
        if filters.grouping == "day":
            start = day
        elif filters.grouping == "week":
            start = day - timedelta(days=day.weekday())
        else:
            start = day.replace(day=1)
        if not starts or starts[-1] != start:
            starts.append(start)
        day += timedelta(days=1)
    return starts


def period_label(start: date, grouping: str) -> str:
    """2026-03-02, 2026-W10 (ISO week and its year) or 2026-03."""
    if grouping == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    return start.strftime("%Y-%m") if grouping == "month" else start.isoformat()


TABLE_COLUMNS = ("period", "channel_kind", "incoming", "answered", "first_response_median_min",
                 "first_response_p90_min", "first_response_open_median_min", "first_response_open_p90_min",
                 "within_target_share", "resolved", "resolution_median_min", "resolution_p90_min", "no_reply_needed",
                 "spam")


def table_rows(result: Report) -> list[tuple]:
    """The screen's table, as rows for the CSV: one per period and kind of channel, minutes rounded to 0.1."""
    def minutes(seconds: float | None):
        return "" if seconds is None else round(seconds / 60, 1)

    rows = []
    for start, by_kind in result.periods:
        for kind in KINDS:
            f = by_kind[kind]
            share = f.target_share
            rows.append((period_label(start, result.filters.grouping), kind, f.incoming, f.answered,
                         minutes(f.percentile("first_response", 0.5)), minutes(f.percentile("first_response", 0.9)),
                         minutes(f.percentile("first_response_open", 0.5)),
                         minutes(f.percentile("first_response_open", 0.9)),
                         "" if share is None else round(share, 3), f.resolved,
                         minutes(f.percentile("resolution", 0.5)), minutes(f.percentile("resolution", 0.9)),
                         f.no_reply, f.spam))
    return rows


# --- the lists behind the numbers: the stored contributions, by the days the roll-ups point at ---------

# A list page reads only the days that have its conversations: the roll-ups count them per day exactly for the
# measure and the tag or group, assignee, channel, kind and weekday (for an hour, at most that hour's arrivals), so
# however rare the measure, a page reads the contributions of the few days that hold its rows and no others.
DAYS = """
SELECT d.day, sum(CASE WHEN $10::int IS NULL THEN {count} ELSE least({count}, d.hours[$10 + 1]) END)::bigint AS n
FROM stats_daily d JOIN channels ch ON ch.org_id = d.org_id AND ch.id = d.channel_id
WHERE d.org_id = $1 AND d.tag_id = $2 AND d.group_id = $3 AND d.assignee_id = $4 AND d.day BETWEEN $5 AND $6
  AND ($7::bigint IS NULL OR d.channel_id = $7)
  AND ($8::text IS NULL OR CASE ch.kind WHEN 'forum' THEN 'forum' ELSE 'mail' END = $8)
  AND ($9::int IS NULL OR extract(isodow FROM d.day) = $9)
  AND ($10::int IS NULL OR d.hours[$10 + 1] > 0)
GROUP BY 1 HAVING sum({count}) > 0 ORDER BY 1
"""
# Those days' contributions in order of arrival (keyset on created_at, id), with only the conditions that apply
# written out; the rows shown come from the base tables.
LIST = """
SELECT v.id, v.case_number, v.kind, v.subject, v.created_at, v.first_response_at, v.sentiment,
       ch.name AS channel_name, a.name AS assignee_name,
       coalesce((SELECT array_agg(t.name ORDER BY lower(t.name)) FROM tags t
                 WHERE t.org_id = v.org_id AND t.id = ANY(s.tag_ids)), '{{}}') AS tags,
       CASE WHEN cardinality(s.resolutions) = 0 THEN NULL
            WHEN v.kind = 'forum' THEN v.created_at + make_interval(secs => s.resolutions[1])
            ELSE (SELECT max(e.created_at) FROM events e
                  WHERE e.org_id = v.org_id AND e.conversation_id = v.id AND e.kind = 'conversation.status_changed'
                    AND e.payload->>'status' = 'closed') END AS resolved_at
FROM (SELECT s.* FROM stats_conversations s
      WHERE s.org_id = $1 AND s.day = ANY($2::date[]) AND (s.created_at, s.conversation_id) > ($3, $4)
        AND {where}
      ORDER BY s.day, s.created_at, s.conversation_id
      LIMIT $5) s
JOIN conversations v ON v.org_id = s.org_id AND v.id = s.conversation_id
JOIN channels ch ON ch.org_id = v.org_id AND ch.id = v.channel_id
LEFT JOIN users a ON a.id = v.assignee_id
ORDER BY s.day, s.created_at, s.conversation_id
"""
# The narrowing conditions on the contribution s, each with its parameter (numbered after LIST's five).
NARROWING = {
    "channel_id": "s.channel_id = ${}::bigint",
    "tag_id": "s.tag_ids @> ARRAY[${}::bigint]",
    "group_id": "s.group_ids @> ARRAY[${}::bigint]",
    "assignee_id": "s.assignee_id IS NOT DISTINCT FROM nullif(${}::bigint, -1)",
    "kind": "s.kind = ${}::text",
    "weekday": "extract(isodow FROM s.day) = ${}::int",
    "hour": "s.hour = ${}::smallint",
}
PAGE_SIZE = 50
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Drill:
    """Which conversations a list shows: the screen's filters, narrowed to one number or bar."""

    filters: Filters
    measure: str = "incoming"
    kind: str | None = None
    weekday: int | None = None  # ISO, 1 Monday
    hour: int | None = None


def parse_drill(params, today: date) -> Drill:
    filters = narrowed(parse_filters(params, today), params)
    measure = params.get("measure") or "incoming"
    if measure not in MEASURES:
        raise Invalid(N_("Choose from the list."), "measure")
    kind = params.get("kind") or None
    if kind not in (None, *KINDS):
        raise Invalid(N_("Choose from the list."), "kind")
    weekday, hour = _small(params, "weekday", 1, 7), _small(params, "hour", 0, 23)
    return Drill(filters, measure, kind, weekday, hour)


def _small(params, name: str, low: int, high: int) -> int | None:
    value = (params.get(name) or "").strip()
    if not value:
        return None
    if not value.isdigit() or not low <= int(value) <= high:
        raise Invalid(N_("Choose from the list."), name)
    return int(value)


def parse_cursor(text: str | None) -> tuple[datetime, int]:
    """A list page's position: after (created_at, id), as `microseconds-id`; the start when empty or bad."""
    try:
        micros, conversation_id = (text or "").split("-")
        return EPOCH + timedelta(microseconds=int(micros)), int(conversation_id)
    except ValueError:
        return EPOCH, 0


def cursor_of(row) -> str:
    delta = row["created_at"] - EPOCH
    return f"{(delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds}-{row['id']}"


async def conversations(db: Database, actor: AnyActor, drill: Drill, after: str | None = None,
                        limit: int = PAGE_SIZE) -> list:
    """One page (in order of arrival) of exactly the conversations behind a number."""
    require(actor, "stats.read")
    f = drill.filters
    after_at, after_id = parse_cursor(after)
    first = max(f.start, after_at.astimezone(ZoneInfo(actor.time_zone)).date())
    predicate, count = MEASURES[drill.measure]
    where, args = [predicate], []
    given = {"channel_id": f.channel_id, "tag_id": f.tag_id, "group_id": f.group_id, "assignee_id": f.assignee_id,
             "kind": drill.kind, "weekday": drill.weekday, "hour": drill.hour}
    for name, value in given.items():
        if value is not None:
            args.append(value)
            where.append(NARROWING[name].format(5 + len(args)))
    async with db.transaction(actor.org_id, readonly=True) as tx:
        tag_group_of = dict(await tx.fetch("SELECT id, group_id FROM tags WHERE org_id = $1", actor.org_id))
        dimension = _dimension(f, tag_group_of)
        if dimension is None:
            return []
        hour = None if drill.measure == "spam" else drill.hour  # the roll-ups' hours count arrivals, not spam
        counted = await tx.fetch(DAYS.format(count=count), actor.org_id, *dimension, f.assignee_id or 0, first, f.end,
                                 f.channel_id, drill.kind, drill.weekday, hour)
        rows: list = []
        counted = list(counted)
        while counted and len(rows) < limit:
            # the next days that should hold the rest of the page (the cursor's own day counts for none: part of
            # it was shown); counts can be more than the rows (an hour; a tag within a group), never fewer
            days, enough = [], 0
            while counted and enough < limit - len(rows):
                day, n = counted.pop(0)
                days.append(day)
                enough += 0 if after is not None and day == first else n
            rows += await tx.fetch(LIST.format(where=" AND ".join(where)), actor.org_id, days, after_at, after_id,
                                   limit - len(rows), *args)
        return rows


CSV_COLUMNS = ("case_number", "channel", "created", "first_response", "resolved", "assignee", "tags", "sentiment")


def _cell(value) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula (=, +, -, @)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_text(rows: list[tuple], header: tuple[str, ...] | None = None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header:
        writer.writerow(header)
    writer.writerows([[_cell(v) for v in row] for row in rows])
    return out.getvalue()


async def conversations_csv(db: Database, actor: AnyActor, drill: Drill, time_zone: str):
    """The whole list as CSV, one row per conversation, produced page by page (an async iterator of text)."""
    zone = ZoneInfo(time_zone)

    def when(value: datetime | None) -> str:
        return "" if value is None else value.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    yield csv_text([], CSV_COLUMNS)
    after = None
    while rows := await conversations(db, actor, drill, after, limit=1000):
        yield csv_text([(r["case_number"], r["channel_name"], when(r["created_at"]), when(r["first_response_at"]),
                         when(r["resolved_at"]), r["assignee_name"] or "", "; ".join(r["tags"]), r["sentiment"] or "")
                        for r in rows])
        after = cursor_of(rows[-1])


async def choices(db: Database, org_id: int) -> dict:
    """What the filters offer: channels, tag groups, tags and assignees (current editors and admins)."""
    async with db.transaction(org_id, readonly=True) as tx:
        return {
            "channels": await tx.fetch(
                "SELECT id, name, kind FROM channels WHERE org_id = $1 ORDER BY kind, lower(name), id", org_id),
            "groups": await tx.fetch(
                "SELECT id, name FROM tag_groups WHERE org_id = $1 ORDER BY lower(name), id", org_id),
            "tags": await tx.fetch("SELECT id, name, group_id FROM tags WHERE org_id = $1 ORDER BY lower(name), id",
                                   org_id),
            "assignees": await tx.fetch(
                """SELECT u.id, u.name FROM memberships m JOIN users u ON u.id = m.user_id
                   WHERE m.org_id = $1 AND m.role <> 'viewer' ORDER BY lower(u.name), u.id""", org_id),
        }


def today_in(time_zone: str) -> date:
    return datetime.now(ZoneInfo(time_zone)).date()
