"""Confusion table of the triage corpus: expected severity against what screen() finds."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from outreach.triage import screen, severity_of

LEVELS = ("emergency", "urgent", "routine", "none")
CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "triage_cases.jsonl"


def confusion(path: Path) -> tuple[Counter[tuple[str, str]], list[dict[str, str]]]:
    """Counts of (expected, got) and the cases whose result breaks the corpus rules."""
    table: Counter[tuple[str, str]] = Counter()
    misses: list[dict[str, str]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        case = json.loads(line)
        got = severity_of(screen(case["text"])).label
        table[case["expected"], got] += 1
        if not _acceptable(case["expected"], got):
            misses.append({"text": case["text"], "expected": case["expected"], "got": got})
    return table, misses


def _acceptable(expected: str, got: str) -> bool:
    if expected == "emergency":
        return got == "emergency"
    if expected == "urgent":
        return got in {"urgent", "emergency"}
    return got in {"routine", "none"}


def render(table: Counter[tuple[str, str]]) -> str:
    """The table as text: rows expected, columns got."""
    lines = ["expected \\ got".ljust(16) + "".join(level.rjust(11) for level in LEVELS)]
    for expected in LEVELS:
        row = "".join(str(table[expected, got]).rjust(11) for got in LEVELS)
        lines.append(expected.ljust(16) + row)
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("corpus", nargs="?", type=Path, default=CORPUS)
    args = parser.parse_args()
    table, misses = confusion(args.corpus)
    matrix = {e: {g: table[e, g] for g in LEVELS} for e in LEVELS}
    print(json.dumps({"confusion": matrix, "misses": misses}, ensure_ascii=False))
    print(render(table))
    for miss in misses:
        print(
            f"MISS expected={miss['expected']} got={miss['got']}: {miss['text']}", file=sys.stderr
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
