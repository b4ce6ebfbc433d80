"""The Jinja environment shared by pages (app/web) and pushed fragments (realtime)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape

from app.i18n import Formatter, translations

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


def _formatter(ctx) -> Formatter:
    return formatter(ctx.get("locale", "sv"), ctx.get("time_zone", "Europe/Stockholm"))


@lru_cache(maxsize=64)
def formatter(locale: str, time_zone: str) -> Formatter:
    # one per locale and zone: parsing them again for each number on a page cost more than the formatting
    return Formatter(locale, time_zone)


@pass_context
def _gettext(ctx, message: str) -> str:
    return translations(ctx.get("locale", "sv")).gettext(message)


@pass_context
def _ngettext(ctx, singular: str, plural: str, n: int) -> str:
    return translations(ctx.get("locale", "sv")).ngettext(singular, plural, n)


@pass_context
def _datetime(ctx, value: datetime, fmt: str = "short") -> str:
    return _formatter(ctx).datetime(value, fmt) if value else ""


@pass_context
def _date(ctx, value: datetime, fmt: str = "medium") -> str:
    return _formatter(ctx).date(value, fmt) if value else ""


@pass_context
def _number(ctx, value) -> str:
    return _formatter(ctx).number(value)


@pass_context
def _filesize(ctx, value: int) -> str:
    return _formatter(ctx).filesize(value)


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def micros(at: datetime | None) -> int | str:
    """A time as whole microseconds since 1970 ("" for none): an exact sort key for cursors and data-* attributes."""
    return "" if at is None else (at - EPOCH) // timedelta(microseconds=1)


def make_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Templates read `locale` and `time_zone` from their context, so one environment serves all.
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)
    env.globals["zip"] = zip
    env.filters.update(datetime=_datetime, date=_date, number=_number, filesize=_filesize, micros=micros)
    return env


templates = make_environment()


def render(template: str, /, **context) -> str:
    # positional-only: a context value may be called `name` (or `template`) too
    return templates.get_template(template).render(**context)
