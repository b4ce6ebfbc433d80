"""VADER's rules with each language's words passed in, so no language's set-up touches another's.

vaderSentiment's SentimentIntensityAnalyzer reads its negations, boosters, idioms and the contrast
word "but" from module globals; the rules that do so are written again here against a Rules value
(one per language). The lexicon is per instance already. The rest (tokenising, emoji, punctuation
emphasis, normalising) is VADER's own code.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from vaderSentiment.vaderSentiment import C_INCR, N_SCALAR, SentimentIntensityAnalyzer, SentiText


@dataclass(frozen=True)
class Rules:
    lexicon_file: str                      # a path, or the name of a file in vaderSentiment's package
    negations: frozenset[str]
    boosters: Mapping[str, float]          # word → added intensity (negative: dampener)
    contrasts: frozenset[str]              # "but": what follows weighs more than what went before
    special_cases: Mapping[str, float] = field(default_factory=dict)  # two or three words → valence
    lexicon_extra: Mapping[str, float] = field(default_factory=dict)  # added to or overriding the lexicon
    phrases: Mapping[str, float] = field(default_factory=dict)  # regex over the lower-cased text → valence
    formulas: str | None = None            # regex of greetings and sign-offs, left out before scoring
    negation_suffix: str | None = None     # "n't"
    negation_after: bool = False           # Swedish "gillar inte": the negation follows the verb
    # VADER's "never so": this negation followed by one of these words intensifies ("aldrig varit så nöjd");
    # "inte så nöjd" stays negated
    negation_intensifiers: Mapping[str, frozenset[str]] = field(default_factory=dict)
    prefixes: Mapping[str, float] = field(default_factory=dict)  # "jätte|bra" → booster for the rest
    suffixes: tuple[str, ...] = ()         # inflections tried when a word is not in the lexicon
    question_weight: float = 1.0           # a question's words count this much ("Vilken storlek rekommenderar ni?")
    pos_threshold: float = 0.05
    neg_threshold: float = -0.05


DATA = Path(__file__).parent / "data"
_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")
_CLAUSES = re.compile(r"[,;:]\s")
_PLAIN = re.compile(r"[\w' ]+")  # a run of literal text in a phrase pattern


def openings(pattern: str) -> tuple[str, ...] | None:
    """Literal texts one of which starts every match of `pattern` (after a leading \\b); None when not plain.

    A phrase cannot match a text that holds none of its openings, so a cheap `in` skips the regex scan.
    """
    found: list[str] = []
    depth = start = i = 0
    alternatives = []
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 1
        elif pattern[i] in "()":
            depth += 1 if pattern[i] == "(" else -1
        elif pattern[i] == "|" and depth == 0:
            alternatives.append(pattern[start:i])
            start = i + 1
        i += 1
    alternatives.append(pattern[start:])
    for alternative in alternatives:
        alternative = alternative.removeprefix("\\b")
        if alternative.startswith("("):
            end = alternative.find(")")
            options, after = alternative[1:end].split("|"), alternative[end + 1:end + 2]
        else:
            literal = _PLAIN.match(alternative)
            options = [literal.group() if literal else ""]
            after = alternative[len(options[0]):][:1]
        if after in ("?", "*", "{") or not all(_PLAIN.fullmatch(o) and o.strip() for o in options):
            return None
        found += options
    return tuple(found)


class Analyzer(SentimentIntensityAnalyzer):
    """VADER for one language's Rules; polarity_scores() as VADER's."""

    def __init__(self, rules: Rules):
        super().__init__(lexicon_file=rules.lexicon_file)  # an absolute path is used as is
        self.rules = rules
        self.lexicon = {**self.lexicon, **rules.lexicon_extra}
        self._phrases = [(re.compile(p), v, openings(p)) for p, v in rules.phrases.items()]
        self._formulas = re.compile(rules.formulas) if rules.formulas else None
        self._cache: dict[str, float | None] = {}
        # VADER looks at every character for an emoji; most mail has none, so find out in one pass
        self._emoji = frozenset(ch for ch in self.emojis if len(ch) == 1)

    def valence_of(self, word: str) -> float | None:
        """The lexicon's valence of a lower-case word, trying the language's prefixes and inflections."""
        if word in self.lexicon:
            return self.lexicon[word]
        if word in self._cache:
            return self._cache[word]
        found = self._inflected(word)
        if found is None:
            for prefix, boost in self.rules.prefixes.items():
                if word.startswith(prefix) and len(word) > len(prefix) + 2:
                    rest = self._inflected(word[len(prefix):])
                    if rest is not None and rest != 0:
                        found = rest + (boost if rest > 0 else -boost)
                        break
        if len(self._cache) < 100_000:  # a worker runs for weeks: bounded
            self._cache[word] = found
        return found

    def _inflected(self, word: str) -> float | None:
        if word in self.lexicon:
            return self.lexicon[word]
        for suffix in self.rules.suffixes:
            if word.endswith(suffix) and len(word) > len(suffix) + 2 and word[: -len(suffix)] in self.lexicon:
                return self.lexicon[word[: -len(suffix)]]
        return None

    def polarity_scores(self, text: str) -> dict:
        if self._formulas is not None:
            text = self._formulas.sub(" ", text)
        text = self._describe_emoji(text) if not self._emoji.isdisjoint(text) else text.strip()
        sentiments = []
        boosters, valence_of = self.rules.boosters, self.valence_of
        for sentence in _SENTENCES.split(text):
            scored: list[float] = []
            words: list[str] = []
            for clause in _CLAUSES.split(sentence):
                # negations and boosters reach back three words, but not over a comma or a full stop
                sentitext = SentiText(clause)
                lower = [w.lower() for w in sentitext.words_and_emoticons]
                words += lower
                # most words have no valence: only those go through the rules
                scored += [self._valence(sentitext, lower, i) if valence_of(w) and w not in boosters else 0
                           for i, w in enumerate(lower)]
            scored = self._contrast(words, scored)
            if self.rules.question_weight != 1.0 and sentence.rstrip().endswith("?"):
                scored = [v * self.rules.question_weight for v in scored]
            sentiments += scored
        lowered = text.lower()
        for pattern, valence, starts in self._phrases:
            if starts is None or any(map(lowered.__contains__, starts)):
                sentiments.extend([valence] * len(pattern.findall(lowered)))
        return self.score_valence(sentiments, text)

    def _describe_emoji(self, text: str) -> str:
        """VADER's own step: each emoji replaced by its description."""
        text_no_emoji = []
        prev_space = True
        for ch in text:
            if ch in self.emojis:
                if not prev_space:
                    text_no_emoji.append(" ")
                text_no_emoji.append(self.emojis[ch])
                prev_space = False
            else:
                text_no_emoji.append(ch)
                prev_space = ch == " "
        return "".join(text_no_emoji).strip()

    def _negated(self, word: str) -> bool:
        suffix = self.rules.negation_suffix
        return word in self.rules.negations or bool(suffix and suffix in word)

    def _valence(self, sentitext: SentiText, lower: list[str], i: int) -> float:
        valence = self.valence_of(lower[i])
        if not valence:
            return 0
        if sentitext.words_and_emoticons[i].isupper() and sentitext.is_cap_diff:
            valence += C_INCR if valence > 0 else -C_INCR
        for back in range(3):
            j = i - back - 1
            if j < 0 or self.valence_of(lower[j]) is not None:
                continue
            boost = self.rules.boosters.get(lower[j], 0.0)
            if boost:
                boost = boost if valence > 0 else -boost
                if sentitext.words_and_emoticons[j].isupper() and sentitext.is_cap_diff:
                    boost += C_INCR if valence > 0 else -C_INCR
                valence += boost * (1.0, 0.95, 0.9)[back]
            if self._negated(lower[j]):
                so = self.rules.negation_intensifiers.get(lower[j])
                valence *= 1.25 if so and not so.isdisjoint(lower[j + 1:i]) else N_SCALAR
        if self.rules.negation_after and i + 1 < len(lower) and self._negated(lower[i + 1]):
            valence *= N_SCALAR
        for n in (2, 3):
            for start in range(max(0, i - n + 1), i + 1):
                seq = " ".join(lower[start:start + n])
                if seq in self.rules.special_cases:
                    return self.rules.special_cases[seq]
        return valence

    def _contrast(self, lower: list[str], sentiments: list[float]) -> list[float]:
        """VADER's "but" rule within one sentence: before it counts half, after it half as much again."""
        if self.rules.contrasts.isdisjoint(lower):
            return sentiments
        at = next(k for k, w in enumerate(lower) if w in self.rules.contrasts)
        return [s * 0.5 if k < at else s * 1.5 if k > at else s for k, s in enumerate(sentiments)]

    def label(self, compound: float) -> str:
        if compound >= self.rules.pos_threshold:
            return "pos"
        if compound <= self.rules.neg_threshold:
            return "neg"
        return "neu"
