"""The statistics screen (GET /stats), its table as CSV, and the lists behind its numbers (with CSV)."""
from __future__ import annotations

import re
from urllib.parse import quote_plus, urlencode

import pygal
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Route

from app import stats
from app.errors import Invalid, NotFound
from app.i18n import N_
from app.web.base import actor_of, error_text, login_required, page, t

WEEKDAYS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"), N_("Sunday"))


def list_urls(filters: stats.Filters):
    """The links to the lists behind the numbers for these filters: list_urls(f)(kind=..., period=...), as
    filters.query(**narrow) encoded. The filters' part is encoded once: a two-year table has thousands of links."""
    base = "/stats/conversations?" + urlencode(filters.query())
    return lambda **narrow: base + "".join(f"&{k}={quote_plus(str(v))}" for k, v in narrow.items() if v is not None)


def duration(seconds: float | None) -> str:
    """A wait as people say it: 45 min, 3 h 20 min, 2 d 4 h; a dash for none."""
    if seconds is None:
        return "–"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


# pygal writes its own <style>, <script> and style attributes into the SVG; the page's CSP refuses inline
# ones, so they go, and static/app.css styles the chart's classes instead.
# Nor does a bar's link need its address again as a description.
_INLINE = re.compile(r"<defs>.*?</defs>|<!--.*?-->| style=\"[^\"]*\"|<desc class=\"xlink\">[^<]*</desc>", re.S)


class _Bar(pygal.Bar):
    """pygal's bar chart without the coordinates it writes into every bar for its tooltip script, which the page
    does not load (the CSP would refuse it): each bar keeps its value and label for a screen reader."""

    def _tooltip_data(self, node, value, x, y, classes=None, xlabel=None):
        self.svg.node(node, "desc", class_="value").text = value
        if xlabel:
            self.svg.node(node, "desc", class_="x_label").text = str(xlabel)


MANY = 48  # more bars than this (a month of days, mail and forum): no number on each bar, a label on every few


def _chart(labels: list[str], series: list[tuple[str, list[dict]]]) -> Markup:
    many = len(labels) * len(series) > MANY
    chart = _Bar(js=[], css=[], no_prefix=True, disable_xml_declaration=True, print_values=not many,
                 print_zeroes=False, legend_at_bottom=True, show_legend=len(series) > 1, height=260, width=760,
                 margin=10, show_y_guides=True, x_labels_major_every=-(-len(labels) // 12) if many else None,
                 show_minor_x_labels=not many, truncate_label=-1)
    chart.x_labels = labels
    for name, values in series:
        chart.add(name, values)
    # the figure's caption names the chart; its bars stay links that a keyboard and a screen reader reach
    return Markup(_INLINE.sub("", chart.render(is_unicode=True)).replace("<title>Pygal</title>", ""))


def _bar(value: float, href: str) -> dict:
    return {"value": value, "xlink": {"href": href}}  # its label is the x-axis label, which each bar carries


# Each chart is its own request (loaded by the page once it shows), asking the roll-ups only for what it draws:
# pygal takes some 30 ms a chart, and the page's numbers should not wait for four of them.
CHARTS = {  # name → (which per-period sums, whether the weekdays)
    "incoming": ("counts", False),
    "first_response": ("first_response", False),
    "weekdays": (None, True),
    "hours": (None, True),
}


def chart(request: Request, result: stats.Report, name: str) -> Markup:
    """Incoming per period (mail and forum), the median first response per period, busiest weekdays or hours."""
    f = result.filters
    list_url = list_urls(f)
    kinds = [("mail", t(request, "Mail")), ("forum", t(request, "Forum"))]
    labels = [stats.period_label(start, f.grouping) for start, _ in result.periods]
    if name == "incoming":
        return _chart(labels, [
            (label, [_bar(by_kind[kind].incoming, list_url(period=start, kind=kind))
                     for start, by_kind in result.periods]) for kind, label in kinds])
    if name == "first_response":
        return _chart(labels, [
            (label, [_bar(round((by_kind[kind].percentile("first_response", 0.5) or 0) / 3600, 1),
                          list_url(period=start, kind=kind, measure="answered"))
                     for start, by_kind in result.periods]) for kind, label in kinds])
    if name == "weekdays":
        days = [t(request, d)[:3] for d in WEEKDAYS]
        return _chart(days, [
            (label, [_bar(result.weekdays[d][kind].incoming, list_url(weekday=d, kind=kind))
                     for d in range(1, 8)]) for kind, label in kinds])
    hours = [sum(result.totals[kind].hours[h] for kind in stats.KINDS) for h in range(24)]
    return _chart([str(h) for h in range(24)], [
        (t(request, "Incoming"), [_bar(n, list_url(hour=h)) for h, n in enumerate(hours)])])


@login_required
async def chart_svg(request: Request) -> Response:
    """One chart of the screen, as an SVG fragment for the same filters."""
    actor, name = actor_of(request), request.query_params.get("name", "incoming")
    if name not in CHARTS:
        raise NotFound()
    filters = stats.parse_filters(request.query_params, stats.today_in(actor.time_zone))
    periods, weekdays = CHARTS[name]
    result = await stats.report(request.app.state.db, actor, filters, periods=periods, weekdays=weekdays, tags=False)
    return HTMLResponse(chart(request, result, name))


@login_required
async def index(request: Request) -> Response:
    db, actor = request.app.state.db, actor_of(request)
    params = request.query_params
    options = await stats.choices(db, actor.org_id)
    form = {k: params.get(k, "") for k in ("preset", "from", "to", "grouping", "channel_id", "group_id", "tag_id",
                                           "assignee_id")}
    try:
        filters = stats.parse_filters(params, stats.today_in(actor.time_zone))
    except Invalid as exc:
        return page(request, "pages/stats.html", 400, result=None, form=form, options=options,
                    error=error_text(request, exc), error_field=exc.field, presets=stats.PRESETS)
    result = await stats.report(db, actor, filters)
    form.update({"preset": filters.preset, "from": filters.start.isoformat(), "to": filters.end.isoformat(),
                 "grouping": filters.grouping})
    return page(request, "pages/stats.html", result=result, form=form, options=options, presets=stats.PRESETS,
                chart_query=urlencode(filters.query()), list_url=list_urls(filters),
                table_url="/stats.csv?" + urlencode(filters.query()), duration=duration,
                period_label=stats.period_label, weekdays=WEEKDAYS)


def _csv(body, filename: str) -> Response:
    headers = {"content-disposition": f'attachment; filename="{filename}"'}
    if isinstance(body, str):
        return Response(body, media_type="text/csv; charset=utf-8", headers=headers)
    return StreamingResponse(body, media_type="text/csv; charset=utf-8", headers=headers)


@login_required
async def table_csv(request: Request) -> Response:
    db, actor = request.app.state.db, actor_of(request)
    filters = stats.parse_filters(request.query_params, stats.today_in(actor.time_zone))
    result = await stats.report(db, actor, filters)
    return _csv(stats.csv_text(stats.table_rows(result), stats.TABLE_COLUMNS),
                f"samsyn-statistics-{filters.start}-{filters.end}.csv")


@login_required
async def conversation_list(request: Request) -> Response:
    db, actor = request.app.state.db, actor_of(request)
    drill = stats.parse_drill(request.query_params, stats.today_in(actor.time_zone))
    rows = await stats.conversations(db, actor, drill, request.query_params.get("after"), stats.PAGE_SIZE + 1)
    more = len(rows) > stats.PAGE_SIZE
    rows = rows[:stats.PAGE_SIZE]
    narrow = {k: request.query_params.get(k) for k in ("measure", "kind", "weekday", "hour")}
    query = drill.filters.query(**narrow)
    return page(request, "pages/stats_list.html", drill=drill, rows=rows, weekdays=WEEKDAYS,
                next_url=("/stats/conversations?" + urlencode({**query, "after": stats.cursor_of(rows[-1])})
                          if more else None),
                csv_url="/stats/conversations.csv?" + urlencode(query),
                back_url="/stats?" + urlencode(drill.filters.query()),
                options=await stats.choices(db, actor.org_id))


@login_required
async def conversation_list_csv(request: Request) -> Response:
    actor = actor_of(request)
    drill = stats.parse_drill(request.query_params, stats.today_in(actor.time_zone))
    return _csv(stats.conversations_csv(request.app.state.db, actor, drill, actor.time_zone),
                f"samsyn-conversations-{drill.filters.start}-{drill.filters.end}.csv")


routes = [
    Route("/stats", index),
    Route("/stats.csv", table_csv),
    Route("/stats/chart", chart_svg),
    Route("/stats/conversations", conversation_list),
    Route("/stats/conversations.csv", conversation_list_csv),
]
