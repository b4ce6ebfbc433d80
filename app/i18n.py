"""Swedish (default) and English: gettext catalogues from app/locale, dates and numbers via Babel."""
from __future__ import annotations

import io
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, get_group_symbol
from babel.support import NullTranslations, Translations

LOCALES = ("sv", "en")
DEFAULT_LOCALE = "sv"
LOCALE_DIR = Path(__file__).parent / "locale"


def N_(message: str) -> str:
    """Mark a string for translation where it is defined; it is translated where it is shown."""
    return message


@lru_cache(maxsize=None)
def translations(locale: str) -> NullTranslations:
    """The catalogue for a locale, compiled from its .po file in memory (no build step)."""
    po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return NullTranslations()  # English is the source language
    with po.open("rb") as f:
        catalog = read_po(f, locale=locale)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf)


def pick_locale(*candidates: str | None) -> str:
    for c in candidates:
        if c and c[:2].lower() in LOCALES:
            return c[:2].lower()
    return DEFAULT_LOCALE


class Formatter:
    """Dates and numbers in the viewer's locale and the organisation's time zone."""

    def __init__(self, locale: str, time_zone: str = "Europe/Stockholm"):
        self.locale = Locale.parse(locale)
        self.tz = ZoneInfo(time_zone)
        self._group = get_group_symbol(locale=self.locale)

    def datetime(self, value: datetime, fmt: str = "short") -> str:
        return format_datetime(value, fmt, tzinfo=self.tz, locale=self.locale)

    def date(self, value: datetime, fmt: str = "medium") -> str:
        return format_date(value.astimezone(self.tz), fmt, locale=self.locale)

    def number(self, value: float | int) -> str:
        if type(value) is int:  # the common case, as Babel writes it (groups of three) at a fraction of the cost
            return f"{value:,}".replace(",", self._group)
        return format_decimal(value, locale=self.locale)

    def filesize(self, size: int) -> str:
        for unit, scale in (("MB", 1024 * 1024), ("kB", 1024)):
            if size >= scale:
                return f"{format_decimal(round(size / scale, 1), locale=self.locale)}\xa0{unit}"
        return f"{size}\xa0B"
