"""Language detection: Swedish, English, and everything else as "other"."""
from __future__ import annotations

import random

import numpy as np
import pytest
from py3langid.langid import LanguageIdentifier

from app import language
from app.language import detect


@pytest.mark.parametrize("text", [
    "Hej! Jag har inte fått mitt paket och undrar var det är.",
    "Kan ni hjälpa mig med fakturan? Beloppet stämmer inte.",
])
def test_swedish_is_sv(text):
    assert detect(text) == "sv"


@pytest.mark.parametrize("text", [
    "Hello, my delivery has not arrived yet. Could you check the order?",
    "The app crashes every time I try to log in.",
])
def test_english_is_en(text):
    assert detect(text) == "en"


@pytest.mark.parametrize("text", [
    "Hei! Jeg har ikke fått pakken min ennå, kan dere sjekke?",  # Norwegian
    "Jeg vil gerne returnere min ordre, den passer ikke.",  # Danish
    "Hallo, wo ist mein Paket? Ich warte seit Tagen.",  # German
])
def test_neighbouring_languages_are_other(text):
    assert detect(text) == "other"


@pytest.mark.parametrize("text", ["", "   ", "ok", "Tack!", "12345 67890"])
def test_too_little_to_tell_is_other(text):
    assert detect(text) == "other"


def test_quoted_reply_does_not_decide():
    swedish_answer_under_english_quote = "Tack, då väntar jag på paketet.\n" + "> Hello, we have shipped your order.\n" * 20
    assert detect(swedish_answer_under_english_quote) == "sv"


def test_window_walk_scores_exactly_as_py3langid():
    # app.language walks py3langid's automaton with numpy (speed); every score must stay py3langid's own
    identifier = language._identifier()
    rng = random.Random(10)
    texts = [
        "Hej! Jag har inte fått mitt paket och undrar var det är. Mvh Åsa Öberg",
        "Hello, my delivery has not arrived yet 😞 — could you check order #48213?",
        "Привет! Где мой заказ?", "", "a", "ok", "Tack!",
    ]
    samples = [identifier._encode(text) for text in texts]
    samples += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400))) for _ in range(200)]
    for sample in samples:
        assert np.array_equal(identifier._raw_score(sample), LanguageIdentifier._raw_score(identifier, sample))


def test_window_covers_the_models_longest_ngram():
    # the walk is exact only if no state lies deeper than WINDOW bytes from the start (breadth-first)
    identifier = language._identifier()
    moves, rows = np.asarray(identifier.tk_nextmove), np.asarray(identifier._rowbase, dtype=np.int64)
    depth = np.full(len(rows), -1)
    depth[0], frontier, steps = 0, np.array([0]), 0
    while len(frontier):
        steps += 1
        reached = np.unique(moves[(rows[frontier][:, None] + np.arange(256)).ravel()])
        frontier = reached[depth[reached] < 0]
        depth[frontier] = steps
    assert (depth >= 0).all() and depth.max() <= language.WINDOW
