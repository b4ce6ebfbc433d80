"""English: VADER's own lexicon and words, plus what customer mail measured better with (bench/RESULTS.md)."""
from __future__ import annotations

from vaderSentiment.vaderSentiment import BOOSTER_DICT, NEGATE, SPECIAL_CASES

from app.sentiment.rules import Rules

# Service vocabulary: words VADER's social-media lexicon scores off for customer mail
LEXICON = {
    "like": 0.0, "promised": 0.0, "gift": 0.0, "please": 0.0, "pay": 0.0, "charged": 0.0, "allergic": 0.0, "share": 0.0,
    "refund": -1.0, "delayed": -1.5, "delay": -1.5, "broken": -2.0, "crushed": -2.5, "ruined": -2.5,
    "unusable": -2.5, "cheated": -2.5, "ripped": -2.0, "outrageous": -3.0, "annoying": -2.0,
}
# What customers write when something went wrong, in words no lexicon scores
PHRASES = {
    r"\b(still|never) (waiting|received|arrived|got|heard)\b|\b(still|been) waiting\b": -2.0,
    r"\b(haven't|hasn't|didn't|never|not) (received|arrived|had|got|heard|turned up|been delivered)\b": -2.0,
    r"\b(doesn't|don't|didn't|won't) (work|turn on|help)\b|\bstopped working\b": -2.0,
    r"\bmoney back\b|\bwant (a|my) refund\b|\bdemand\b": -1.5,
    r"\bwithout (an?|any) ?(answer|reply|notice|warning|explanation)\b|\bno (answer|reply)\b": -2.0,
    r"\bwrong (item|size|colour|color|address)\b|\btwice\b|\bnobody\b|\bno one\b|\bfed up\b": -1.5,
}
# Greetings and sign-offs carry no attitude ("Kind regards", "Thanks in advance")
FORMULAS = (
    r"(?im)^\s*(hi|hello|hey|dear|good (morning|afternoon|evening))\b[!,.]?"
    r"|\b((kind|best|warm) )?regards\b|\bbest wishes\b|^\s*(best|cheers|thanks|thank you)[!,.]?(\s+\w+)?\s*$"
    r"|\bthanks in advance\b"
)

# Copies of VADER's own words: read once, never written to.
RULES = Rules(
    lexicon_file="vader_lexicon.txt",
    negations=frozenset(NEGATE),
    negation_suffix="n't",
    boosters=dict(BOOSTER_DICT),
    contrasts=frozenset({"but"}),
    special_cases=dict(SPECIAL_CASES),
    lexicon_extra=LEXICON,
    phrases=PHRASES,
    formulas=FORMULAS,
    pos_threshold=0.1,  # "I would like to…": one mild word is no praise
)
