"""The customer barometer's scorer: negative / neutral / positive for Swedish and English text.

The language is detected first (app.language); each language has its own lexicon and rules
(app.sentiment.swedish, app.sentiment.english). Text in any other language gets no score.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from app import language
from app.sentiment import english, swedish
from app.sentiment.rules import Analyzer

LABELS = ("neg", "neu", "pos")
UNKNOWN = "unk"
RULES = {language.SWEDISH: swedish.RULES, language.ENGLISH: english.RULES}


@dataclass(frozen=True)
class Score:
    label: str              # neg, neu, pos, or unk for a language we do not score
    compound: float | None  # VADER's compound in [-1, 1]; None with unk
    language: str           # sv, en or other


@functools.cache
def analyzer(lang: str) -> Analyzer:
    return Analyzer(RULES[lang])


def score(text: str, lang: str | None = None) -> Score:
    """The sentiment of one customer text; `lang` when already known, else detected."""
    lang = lang or language.detect(text)
    if lang not in RULES:
        return Score(UNKNOWN, None, lang)
    scorer = analyzer(lang)
    compound = scorer.polarity_scores(text)["compound"]
    return Score(scorer.label(compound), compound, lang)
