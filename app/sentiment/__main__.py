"""`python -m app.sentiment`: one text per line on stdin → `label<TAB>compound<TAB>language` per line."""
from __future__ import annotations

import sys

from app.sentiment import score


def main() -> None:
    for line in sys.stdin:
        result = score(line.rstrip("\n"))
        compound = "" if result.compound is None else f"{result.compound:.4f}"
        sys.stdout.write(f"{result.label}\t{compound}\t{result.language}\n")


if __name__ == "__main__":
    main()
