"""The customer barometer: shares of negative, neutral and positive customer messages over time, per channel,
tag group and tag; the messages behind each figure; editors' corrections of a message's score."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_date
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import barometer
from app.actors import require
from app.barometer import Filters
from app.errors import Invalid
from app.i18n import N_
from app.web.base import actor_of, error_text, locale_of, login_required, page, path_id, redirect

# Preset periods: name → (grouping, function of today giving (first day, last day)).
PRESETS = {
    "this_week": ("week", lambda d: (barometer.bucket_of(d, "week"), d)),
    "last_week": ("week", lambda d: (barometer.bucket_of(d, "week") - timedelta(days=7),
                                     barometer.bucket_of(d, "week") - timedelta(days=1))),
    "this_month": ("week", lambda d: (d.replace(day=1), d)),
    "last_month": ("week", lambda d: (barometer.Filters(d.replace(day=1), d).previous())),
    "last_12_weeks": ("week", lambda d: (barometer.bucket_of(d, "week") - timedelta(weeks=11), d)),
    "last_6_months": ("month", lambda d: (barometer._add_months(d.replace(day=1), -5), d)),
    "this_year": ("month", lambda d: (d.replace(month=1, day=1), d)),
}
DEFAULT_PRESET = "last_12_weeks"


def _today(request: Request) -> date:
    return datetime.now(ZoneInfo(actor_of(request).time_zone)).date()


def _id(value: str | None) -> int | None:
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if 0 < number < 2**63 else None


def _day(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise Invalid(N_("Enter a date as YYYY-MM-DD."), field) from None


def filters_of(request: Request) -> Filters:
    """The filters in the query string (a preset, or from–to and a grouping); Invalid for a bad period."""
    q = request.query_params
    by, (start, end) = PRESETS[DEFAULT_PRESET][0], PRESETS[DEFAULT_PRESET][1](_today(request))
    if q.get("period") in PRESETS:
        by, span = PRESETS[q["period"]]
        start, end = span(_today(request))
    if q.get("from") or q.get("to"):
        start, end = _day(q.get("from", ""), "from"), _day(q.get("to", ""), "to")
    by = q.get("by") if q.get("by") in barometer.GROUPINGS else by
    if end < start:
        raise Invalid(N_("The period ends before it starts."), "to")
    if (end - start).days > barometer.MAX_DAYS:
        raise Invalid(N_("Choose a period of at most three years."), "from")
    return Filters(start, end, by, _id(q.get("channel")), _id(q.get("tag")), _id(q.get("group")))


def _query(f: Filters, **changes) -> str:
    values = {"from": f.start.isoformat(), "to": f.end.isoformat(), "by": f.by, "channel": f.channel_id,
              "tag": f.tag_id, "group": f.group_id, **changes}
    return urlencode({k: v for k, v in values.items() if v is not None})


def _bucket_name(first: date, by: str, locale: str) -> str:
    if by == "week":
        year, week, _ = first.isocalendar()
        return f"{week}/{year % 100:02d}"
    return format_date(first, "LLL yy", locale=locale)


@login_required
async def show(request: Request) -> Response:
    db, actor = request.app.state.db, actor_of(request)
    require(actor, "barometer.read")
    status, error, typed = 200, None, {k: request.query_params.get(k, "") for k in ("from", "to")}
    try:
        f = filters_of(request)
    except Invalid as exc:
        status, error = 400, error_text(request, exc)
        by, span = PRESETS[DEFAULT_PRESET]
        f = Filters(*span(_today(request)), by)
    figures = await barometer.figures(db, actor.org_id, f)
    drill = _drill(f)
    return page(request, "pages/barometer.html", status, f=f, figures=figures, error=error,
                typed=typed if error else {"from": f.start.isoformat(), "to": f.end.isoformat()},
                choices=await barometer.choices(db, actor.org_id), presets=list(PRESETS), drill=drill,
                bars=_bars(figures["buckets"], f.by, drill, locale_of(request)), frame=(HEIGHT, LEFT, WIDTH),
                query=lambda **changes: _query(f, **changes))


def _drill(f: Filters):
    """drill(label, start, end, **scope): the list of exactly the messages behind a figure, narrowed to the days
    and scope given. Put together from strings (dates, ids and the label need no quoting): a page has hundreds."""
    def drill(label: str, start: date | None = None, end: date | None = None, **scope) -> str:
        s = {"channel_id": f.channel_id, "tag_id": f.tag_id, "group_id": f.group_id, **scope}
        rest = "".join(f"&{name}={value}" for name, value in (
            ("by", f.by), ("channel", s["channel_id"]), ("tag", s["tag_id"]), ("group", s["group_id"]),
            ("label", label)) if value is not None)
        return f"/barometer/messages?from={max(start or f.start, f.start)}&to={min(end or f.end, f.end)}{rest}"
    return drill


# The chart's frame in SVG units: bars between LEFT and WIDTH, HEIGHT tall for 100 %.
HEIGHT, LEFT, WIDTH = 200, 36, 720
NAMED = 16  # at most this many weeks or months named under the axis; the table names every one


@dataclass
class Bar:
    """One week or month, laid out once for the chart and the table below it."""

    first: date
    name: str
    counts: barometer.Counts
    links: dict[str, str]  # label → its messages
    shares: dict[str, str]  # label → "37 %" ("–" without messages)
    parts: list[tuple[str, str, str]]  # (label, y, height) stacked from the bottom, negative first
    x: str
    width: str
    middle: str
    named: bool  # named under the axis
    counted: bool  # its number of messages under its name (only where every bar has its name: else, which?)


def _bars(buckets: list, by: str, drill, locale: str) -> list[Bar]:
    step = (WIDTH - LEFT) / (len(buckets) or 1)
    every = -(-len(buckets) // NAMED)  # name every n-th, so the names never overlap
    bars = []
    for i, (first, c) in enumerate(buckets):
        x, y, parts = LEFT + i * step + step * 0.1, float(HEIGHT), []
        for label in (label for label in barometer.LABELS if getattr(c, label)):  # no empty parts
            part = HEIGHT * getattr(c, label) / c.total
            y -= part
            parts.append((label, f"{y:.1f}", f"{part:.1f}"))
        shares = {label: "–" if c.total == 0 else f"{c.share(label):.0f} %" for label in barometer.LABELS}
        end = barometer.bucket_end(first, by)
        bars.append(Bar(first, _bucket_name(first, by, locale), c,
                        {label: drill(label, first, end) for label in barometer.LABELS}, shares, parts,
                        f"{x:.1f}", f"{step * 0.8:.1f}", f"{x + step * 0.4:.1f}", i % every == 0, every == 1))
    return bars


def _after(value: str | None) -> tuple[datetime, int] | None:
    """The keyset of the next page: the last row's time and id."""
    if not value:
        return None
    at, _, message_id = value.rpartition("_")
    try:
        return datetime.fromisoformat(at), int(message_id)
    except ValueError:
        raise Invalid(N_("That page does not exist."), "after") from None


@login_required
async def messages(request: Request) -> Response:
    db, actor = request.app.state.db, actor_of(request)
    require(actor, "barometer.read")
    f, label = filters_of(request), request.query_params.get("label", "neg")
    rows, after = await barometer.drill_down(db, actor.org_id, actor.time_zone, f, label,
                                             _after(request.query_params.get("after")))
    counted = await barometer.count(db, actor.org_id, f, label)
    choices = await barometer.choices(db, actor.org_id)

    def name(items, key):
        return next((i["name"] for i in items if i["id"] == key), None)

    return page(request, "pages/barometer_messages.html", f=f, label=label, rows=rows, counted=counted,
                channel_name=name(choices["channels"], f.channel_id), tag_name=name(choices["tags"], f.tag_id),
                group_name=name(choices["groups"], f.group_id),
                next_url=(f"/barometer/messages?{_query(f, label=label, after=f'{after[0].isoformat()}_{after[1]}')}"
                          if after else None),
                back_url=f"/barometer?{_query(f)}")


@login_required
async def correct(request: Request) -> Response:
    message_id, form = path_id(request), await request.form()
    label = str(form.get("label", "")) or None  # "": back to the scorer's label
    conversation_id = await barometer.correct(request.app.state.db, actor_of(request), message_id, label)
    return redirect(f"/conversations/{conversation_id}#message-{message_id}")


routes = [
    Route("/barometer", show),
    Route("/barometer/messages", messages),
    Route("/messages/{id:int}/sentiment", correct, methods=["POST"]),
]
