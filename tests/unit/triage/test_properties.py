"""Properties that hold for any text: no crash, spans inside the text, flags consistent."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.findings import Severity
from outreach.triage.context import assess_context, context_of
from outreach.triage.redflags import screen

WORDS = st.sampled_from(
    "no not chest pain cant breathe my husband had last week if went away ya no me duele el "
    "pecho sin fiebre sugar 45 and shaky , . ? ! 😀 can't I'm didn't 101.5 / 10 jk never like "
    "this pero but".split()
)
MESSAGES = st.one_of(st.text(max_size=200), st.lists(WORDS, max_size=30).map(" ".join))


@settings(deadline=None, max_examples=300)
@given(MESSAGES)
def test_screen_never_crashes_and_spans_hold(text: str) -> None:
    for finding in screen(text):
        assert finding.span is not None
        start, end = finding.span
        assert 0 <= start < end <= len(text)
        assert text[start:end] == finding.text
        if finding.negated:
            assert finding.severity == Severity.NONE
        if finding.hypothetical and finding.response == "guidance":
            assert finding.severity == Severity.NONE
        assert finding.experiencer in {"patient", "other"}


@settings(deadline=None, max_examples=200)
@given(MESSAGES, st.integers(0, 250), st.integers(0, 250))
def test_context_never_crashes(text: str, a: int, b: int) -> None:
    flags = assess_context(text, (min(a, b), max(a, b)), "auto")
    assert flags.experiencer in {"patient", "other"}


@settings(deadline=None, max_examples=200)
@given(MESSAGES, st.text(max_size=20))
def test_context_of_any_term(text: str, term: str) -> None:
    answer = context_of(text, term)
    assert answer["term"] == term
    assert isinstance(answer["found"], bool)
