"""The texting corpus (tests/data/triage_cases.jsonl): no missed emergency, no false alarm."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from outreach.findings import Severity
from outreach.triage.redflags import screen, severity_of

CORPUS = Path(__file__).resolve().parents[2] / "data" / "triage_cases.jsonl"
LEVELS = {"emergency", "urgent", "routine", "none"}


def load() -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line]
    return rows


CASES = load()


def _id(case: dict[str, Any]) -> str:
    return f"{case['lang']}:{case['expected']}:{case['text'][:40]}"


def test_corpus_shape() -> None:
    assert len(CASES) >= 220
    languages = Counter(c["lang"] for c in CASES)
    assert languages["es"] >= 70 and languages["en"] >= 70
    for case in CASES:
        assert set(case) == {"text", "expected", "lang", "note"}
        assert case["expected"] in LEVELS and case["lang"] in {"en", "es"}
    texts = [c["text"] for c in CASES]
    assert len(texts) == len(set(texts)), "duplicate texts"


@pytest.mark.parametrize("case", [c for c in CASES if c["expected"] == "emergency"], ids=_id)
def test_every_emergency_is_an_emergency(case: dict[str, Any]) -> None:
    assert severity_of(screen(case["text"])) == Severity.EMERGENCY, case["note"]


@pytest.mark.parametrize("case", [c for c in CASES if c["expected"] == "urgent"], ids=_id)
def test_every_urgent_is_at_least_urgent(case: dict[str, Any]) -> None:
    assert severity_of(screen(case["text"])) >= Severity.URGENT, case["note"]


@pytest.mark.parametrize(
    "case", [c for c in CASES if c["expected"] in {"routine", "none"}], ids=_id
)
def test_benign_never_alarms(case: dict[str, Any]) -> None:
    assert severity_of(screen(case["text"])) <= Severity.ROUTINE, case["note"]


def test_corpus_covers_every_emergency_and_urgent_category() -> None:
    emergency = {
        "heart",
        "breathing",
        "stroke",
        "suicide",
        "collapse",
        "fall",
        "bleeding",
        "overdose",
        "allergy",
        "sugar",
    }
    urgent = {
        "heart_failure",
        "copd",
        "infection",
        "fluids",
        "sugar",
        "bleeding",
        "dizziness",
        "mood",
        "medicines",
        "pain",
    }
    seen: dict[str, set[str]] = {"emergency": set(), "urgent": set()}
    other_seen = False
    for case in CASES:
        if case["expected"] not in seen:
            continue
        for finding in screen(case["text"]):
            if finding.severity.label == case["expected"]:
                seen[case["expected"]].add(finding.category)
                other_seen = other_seen or finding.experiencer == "other"
    assert emergency <= seen["emergency"]
    assert urgent <= seen["urgent"]
    assert other_seen, "no 'someone else' case"
    for lang in ("en", "es"):
        levels = {c["expected"] for c in CASES if c["lang"] == lang}
        assert levels == LEVELS
