"""The pattern language, the speller and the consistency of the data files."""

from __future__ import annotations

import pytest

from outreach.findings import Severity
from outreach.triage.lexicon import (
    LANGUAGES,
    KeyedText,
    PatternSet,
    compile_pattern,
    context_lexicon,
    fold,
    load_data,
    redflag_lexicon,
    within_one_edit,
)


def spans(pattern: str, text: str) -> list[tuple[int, int]]:
    patterns: PatternSet[str] = PatternSet()
    patterns.add(compile_pattern(pattern, "x", gap_stop=["not"]))
    keyed = KeyedText.of([fold(w) for w in text.split()])
    return [(m.start, m.end) for m in patterns.find(keyed)]


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("chest pain", "my chest pain", [(1, 3)]),
        ("chest pain|ache", "chest ache", [(0, 2)]),
        ("breath* hard", "breathing hard", [(0, 2)]),
        ("{can not, cant} breathe", "i can not breathe", [(1, 4)]),
        ("my? chest", "chest", [(0, 1)]),
        ("chest ~2 pain", "chest really bad pain", [(0, 4)]),
        ("chest ~1 pain", "chest really bad pain", []),
        ("chest ~3 pain", "chest is not pain", []),  # a gap never crosses a denial
        ("sugar <num>", "sugar 45", [(0, 2)]),
        ("stand $", "cant stand |", [(1, 2)]),
        ("stand $", "cant stand this", []),
        ("confused !about", "confused about it", []),
        ("confused !about", "very confused", [(1, 2)]),
        ("{a b, a}", "a b", [(0, 2)]),  # the longest alternative wins
        ("respiración", "respiracion", [(0, 1)]),
    ],
)
def test_pattern_language(pattern: str, text: str, expected: list[tuple[int, int]]) -> None:
    assert spans(pattern, text) == expected


def test_malformed_patterns_are_refused() -> None:
    with pytest.raises(ValueError):
        compile_pattern("{a, b", "x")
    with pytest.raises(ValueError):
        compile_pattern("a }", "x")


def test_fold() -> None:
    assert fold("Can't") == "cant"
    assert fold("RESPIRACIÓN") == "respiracion"
    assert fold("sí") == "sí" and fold("si") == "si"
    assert fold("él") == "él" and fold("el") == "el"


@pytest.mark.parametrize(
    ("a", "b", "near"),
    [
        ("chest", "chesst", True),
        ("seizure", "siezure", True),
        ("breathe", "brethe", True),
        ("chest", "chase", False),
        ("pain", "pain", True),
        ("abc", "abcde", False),
    ],
)
def test_within_one_edit(a: str, b: str, near: bool) -> None:
    assert within_one_edit(a, b) is near


def test_speller() -> None:
    speller = redflag_lexicon().speller
    assert speller.correct("chesst") == "chest"
    assert speller.correct("painted") == "painted"  # a real word, even one edit from "fainted"
    assert speller.correct("couch") == "couch"
    assert speller.correct("pain") == "pain"
    assert speller.correct("zzzzzz") == "zzzzzz"


def test_every_file_loads_and_codes_agree() -> None:
    lexicon = redflag_lexicon()
    for language in LANGUAGES:
        assert context_lexicon(language).triggers.patterns
        data = load_data(f"redflags_{language}.yaml")
        for entry in data["flags"]:
            assert entry["code"] in lexicon.flags
            assert entry["code"].split(".")[0] in data["categories"]
    for flag in lexicon.flags.values():
        assert flag.response in {"", "emergency", "crisis"}
        if flag.severity == Severity.EMERGENCY:
            assert flag.response in {"emergency", "crisis"}
        assert not (flag.overrides - set(lexicon.flags)), flag.code


def test_numeric_codes_exist() -> None:
    lexicon = redflag_lexicon()
    numeric = load_data("numeric.yaml")
    for section in ("sugar", "temperature", "pain_score", "weight_gain"):
        for band in numeric[section]["bands"]:
            assert band["code"] in lexicon.flags
    assert numeric["blood_pressure"]["code"] in lexicon.flags


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError):
        context_lexicon("fr")
