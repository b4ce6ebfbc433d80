"""Sentiment: accuracy on the labelled evaluation set, and speed on the mail corpus beside plain VADER.

    .venv/bin/python -m bench.sentiment [--split dev|holdout|both] [--rounds 3]

Accuracy: every mail of tests/data/sentiment/{sv,en}_{dev,holdout}.tsv is scored as the product
scores it (language detected, not given), so a mail taken for another language counts as wrong;
prints accuracy per language and a confusion matrix (rows: the label, columns: the scorer's; `unk`
when the language was not recognised), with plain VADER's accuracy on the same mails beside it.

Speed: the customer messages of ../shared/corpus/mail (every file app.mail.parse reads, its subject
and whole text body), scored by app.sentiment (language detection included) and by plain VADER on
the same texts, in one process: messages per second on one core (best of --rounds).
"""
from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from app import sentiment
from app.mail import parse

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "sentiment"
CORPUS = ROOT.parent / "shared" / "corpus" / "mail"
COLUMNS = ("neg", "neu", "pos", "unk")


def load(lang: str, split: str) -> list[tuple[str, str]]:
    """(label, text) pairs of one split; `\\n` in the file is a line break in the mail."""
    rows = []
    for line in (DATA / f"{lang}_{split}.tsv").read_text(encoding="utf-8").splitlines():
        label, text = line.split("\t", 1)
        rows.append((label, text.replace("\\n", "\n")))
    return rows


def vader_label(compound: float) -> str:
    return "pos" if compound >= 0.05 else "neg" if compound <= -0.05 else "neu"


def evaluate(lang: str, split: str) -> tuple[float, Counter, float]:
    """(accuracy, confusion counts of (label, scored), plain VADER's accuracy) for one split."""
    rows = load(lang, split)
    vader = SentimentIntensityAnalyzer()
    confusion: Counter = Counter()
    vader_right = 0
    for label, text in rows:
        confusion[label, sentiment.score(text).label] += 1
        vader_right += vader_label(vader.polarity_scores(text)["compound"]) == label
    right = sum(n for (label, got), n in confusion.items() if label == got)
    return right / len(rows), confusion, vader_right / len(rows)


def corpus_texts() -> list[str]:
    texts = []
    for path in sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix != ".json" and p.name != "README.md"):
        try:
            mail = parse.parse(path.read_bytes())
        except parse.ParseError:
            continue
        texts.append(f"{mail.subject}\n{mail.text}")
    return texts


def per_second(fn, texts: list[str], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()  # CPU time of this process: one core, whatever the others do
        for text in texts:
            fn(text)
        best = min(best, time.process_time() - started)
    return len(texts) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "holdout", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-speed", action="store_true")
    args = parser.parse_args()
    splits = ("dev", "holdout") if args.split == "both" else (args.split,)
    for split in splits:
        for lang in ("sv", "en"):
            accuracy, confusion, vader = evaluate(lang, split)
            total = sum(confusion.values())
            print(f"{lang} {split}: accuracy {accuracy:.1%} of {total} (plain VADER {vader:.1%})")
            print("      " + "".join(f"{c:>6}" for c in COLUMNS))
            for label in COLUMNS[:3]:
                print(f"  {label} " + "".join(f"{confusion[label, c]:>6}" for c in COLUMNS))
    if args.no_speed:
        return
    texts = corpus_texts()
    languages = Counter(sentiment.score(t).language for t in texts)
    chars = sum(map(len, texts))
    print(f"corpus: {len(texts)} messages, {chars / len(texts):,.0f} characters on average, languages {dict(languages)}")
    vader = SentimentIntensityAnalyzer()
    ours = per_second(sentiment.score, texts, args.rounds)
    plain = per_second(vader.polarity_scores, texts, args.rounds)
    print(f"app.sentiment (detection included): {ours:,.0f} messages/s per core")
    print(f"plain VADER:                        {plain:,.0f} messages/s per core")


if __name__ == "__main__":
    main()
