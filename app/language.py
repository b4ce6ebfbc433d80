"""Which language a customer wrote in: "sv", "en" or "other" (search stemming, later the sentiment scorer)."""
from __future__ import annotations

import functools
import re

from py3langid.langid import MODEL_FILE, LanguageIdentifier

SWEDISH, ENGLISH, OTHER = "sv", "en", "other"
# The languages our customers write in; the Nordic neighbours are here so that Norwegian or Danish
# is called by its name (and so "other") instead of the nearest of Swedish and English.
CANDIDATES = ("sv", "en", "no", "nn", "da", "de", "fi")
MIN_LETTERS = 8  # "Tack!", "ok": too little to tell
MIN_CONFIDENCE = 0.5
SAMPLE_CHARS = 2000  # the opening of a long mail says as much as all of it
_QUOTED = re.compile(r"^\s*>.*$", re.MULTILINE)


@functools.cache
def _identifier() -> LanguageIdentifier:
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(CANDIDATES))
    return identifier


def _has_letters(text: str, enough: int) -> bool:
    """At least `enough` letters; stops counting there (a long mail need not be counted through)."""
    for ch in text:
        if ch.isalpha():
            enough -= 1
            if not enough:
                return True
    return enough <= 0


def detect(text: str) -> str:
    """"sv", "en" or "other" (also for text too short or too mixed to tell)."""
    sample = _QUOTED.sub("", text or "")[:SAMPLE_CHARS]
    if not _has_letters(sample, MIN_LETTERS):
        return OTHER
    language, confidence = _identifier().classify(sample)
    if confidence < MIN_CONFIDENCE or language not in (SWEDISH, ENGLISH):
        return OTHER
    return language
