"""Language detection: Swedish, English, and everything else as "other"."""
from __future__ import annotations

import pytest

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
