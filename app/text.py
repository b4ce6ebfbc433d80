"""Names and addresses people type: one normal form, no invisible or direction-changing characters.

A channel named only U+200B, a name with U+202E (right-to-left override) or an address
`info<U+200B>@…` that looks like the real one would mislead the people reading it, so such
input is refused with a clear message rather than stored.
"""
from __future__ import annotations

import unicodedata

from app.errors import Invalid
from app.i18n import N_

# Format characters with a legitimate place inside a word: the zero-width joiner of emoji
# sequences (👩‍💻) and the non-joiner some scripts need. Never at an edge.
_JOINERS = {"\u200c", "\u200d"}


def _invisible(ch: str) -> bool:
    # Cc: control (NUL, CR, LF, …); Cf: format (U+200B, U+202E, BOM, …); Zl/Zp: line breaks;
    # Co/Cn: private or unassigned code points, which no font shows as what they are.
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Co", "Cn")


def clean_name(value: str | None, field: str, max_length: int, *, message: str = "") -> str:
    """A name in NFC with its surrounding spaces trimmed; Invalid when blank, too long or hiding characters."""
    text = unicodedata.normalize("NFC", value or "").strip()
    if not text:
        raise Invalid(message or N_("Enter a name."), field)
    if len(text) > max_length:
        raise Invalid(N_("That is too long: at most %(max)s characters."), field, max=max_length)
    bad = [i for i, ch in enumerate(text) if _invisible(ch)
           and not (ch in _JOINERS and 0 < i < len(text) - 1 and not text[i - 1].isspace())]
    if bad or any(ch.isspace() and ch != " " for ch in text):
        raise Invalid(N_("Use visible characters only: no line breaks, tabs or invisible characters."), field)
    return text


def clean_address(value: str | None) -> str:
    """An address (e-mail or slug) in NFC lower case; Invalid when it holds spaces or invisible characters."""
    text = unicodedata.normalize("NFC", (value or "").strip()).lower()
    if any(_invisible(ch) or ch.isspace() for ch in text):
        raise Invalid(N_("An address cannot hold spaces or invisible characters."), "address")
    return text
