"""Free-text triage speed: screen() over the corpus, repeated; prints figures as JSON.

Run from the repository root: ``python -m bench.triage_bench [--repeat N]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from outreach.triage import screen

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "triage_cases.jsonl"


def texts(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines if line.strip()]


def measure(messages: list[str], repeat: int) -> dict[str, float | int]:
    """Per-message latencies (after a warm-up pass that loads the vocabulary)."""
    started = time.perf_counter()
    for text in messages:
        screen(text)
    load_s = time.perf_counter() - started
    timings: list[float] = []
    total_started = time.perf_counter()
    for _ in range(repeat):
        for text in messages:
            t0 = time.perf_counter_ns()
            screen(text)
            timings.append((time.perf_counter_ns() - t0) / 1000)
    total = time.perf_counter() - total_started
    timings.sort()
    return {
        "messages": len(timings),
        "distinct_messages": len(messages),
        "messages_per_s": round(len(timings) / total, 1),
        "p50_us": round(statistics.median(timings), 1),
        "p99_us": round(timings[int(len(timings) * 0.99) - 1], 1),
        "max_us": round(timings[-1], 1),
        "first_pass_s": round(load_s, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args()
    print(json.dumps(measure(texts(args.corpus), args.repeat)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
