"""Which language a customer wrote in: "sv", "en" or "other" (search stemming, later the sentiment scorer)."""
from __future__ import annotations

import functools
import re
from collections import Counter

import numpy as np
from py3langid.langid import MODEL_FILE, RAW_FLOOR, LanguageIdentifier

SWEDISH, ENGLISH, OTHER = "sv", "en", "other"
# The languages our customers write in; the Nordic neighbours are here so that Norwegian or Danish
# is called by its name (and so "other") instead of the nearest of Swedish and English.
CANDIDATES = ("sv", "en", "no", "nn", "da", "de", "fi")
MIN_LETTERS = 8  # "Tack!", "ok": too little to tell
MIN_CONFIDENCE = 0.5
SAMPLE_CHARS = 2000  # the opening of a long mail says as much as all of it
_QUOTED = re.compile(r"^\s*>.*$", re.MULTILINE)
WINDOW = 6  # bytes: py3langid's model knows no longer n-gram (tests/test_language.py checks it)


class _Identifier(LanguageIdentifier):
    """py3langid's identifier with its automaton walked by numpy, all bytes at once, instead of byte by byte.

    The automaton recognises n-grams of at most WINDOW bytes, so its state after a byte depends only on
    the last WINDOW bytes: WINDOW vector steps find every state. The counts and scores are py3langid's.
    """

    __slots__ = ("_moves", "_rows", "_outputs")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._moves = np.asarray(self.tk_nextmove)  # a view of the model's table, not a copy
        self._rows = np.asarray(self._rowbase, dtype=np.int64)
        self._outputs = np.asarray(self.tk_output, dtype=np.int64)

    def _raw_score(self, text: bytes) -> np.ndarray:
        data = np.frombuffer(text, dtype=np.uint8)
        states = np.zeros(len(data), dtype=np.int64)
        for back in range(min(WINDOW, len(data)) - 1, -1, -1):  # states[i] reads data[i - back]
            states[back:] = self._moves[self._rows[states[back:]] + data[:len(data) - back]]
        features = self._outputs[states]
        features = features[features >= 0]
        if len(features):
            return self._sparse_score(Counter(features.tolist()), self.nb_ptc)
        return np.full(len(self.nb_classes), 0.0 if self._norm_probs else RAW_FLOOR, dtype=np.float32)


@functools.cache
def _identifier() -> LanguageIdentifier:
    identifier = _Identifier.from_model_file(MODEL_FILE, norm_probs=True)
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
