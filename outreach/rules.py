"""Structured rules: a check-in's answers and totals, against thresholds, history and bands."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from outreach.findings import Finding, Severity
from outreach.programs.model import (
    AnswerValue,
    Condition,
    Program,
    Question,
    Rule,
    RuleCondition,
)

_UNIT_LABELS: Final[dict[str, str]] = {
    "lb": "lb",
    "mg_dl": "mg/dL",
    "days": "days",
    "points": "points",
    "count": "",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleContext:
    """What a check-in is compared with.

    ``previous``: answers and totals of the last completed check-in; ``baseline``: the
    patient's baseline values (first completed check-in or set by the care team, e.g. dry
    weight); ``readings``: earlier dated readings of number questions as (when, question id,
    value in the stored unit); ``now``: the time of the current answers (aware).
    """

    now: datetime
    previous: Mapping[str, AnswerValue] = field(default_factory=dict)
    baseline: Mapping[str, AnswerValue] = field(default_factory=dict)
    readings: Sequence[tuple[datetime, str, float]] = ()


@dataclass(frozen=True, slots=True)
class _Subject:
    """An answer or a total that rules look at."""

    id: str
    value: AnswerValue
    unit: str | None
    sensitive: bool
    kind: str


def condition_holds(condition: Condition, values: Mapping[str, AnswerValue]) -> bool:
    """Skip logic: ``values[condition.question] <op> condition.value``; False when missing."""
    if condition.question not in values:
        return False
    return _compare(values[condition.question], condition.op, condition.value)


def should_ask(
    question: Question,
    answers: Mapping[str, AnswerValue],
    totals: Mapping[str, float] | None = None,
) -> bool:
    """True when every ``ask_if`` condition of ``question`` holds for the answers and totals."""
    values: dict[str, AnswerValue] = {**answers, **(totals or {})}
    return all(condition_holds(c, values) for c in question.ask_if)


def compute_totals(program: Program, answers: Mapping[str, AnswerValue]) -> dict[str, float]:
    """The totals whose members that were asked all have a number or yes/no answer (yes = 1).

    Members skipped by their ``ask_if`` do not count (PHQ-9 items 3–9 after a PHQ-2 below 3,
    so ``phq9`` is then the PHQ-2 sum); a member that was asked but has no readable answer
    leaves the total out. Totals are computed in the order their last member is asked, so
    ``ask_if`` on an earlier total (``phq2``) works.
    """
    position = {q.id: index for index, q in enumerate(program.questions)}
    order = sorted(
        program.totals,
        key=lambda t: max((position[q.id] for q in program.total_members(t.id)), default=-1),
    )
    totals: dict[str, float] = {}
    for total in order:
        asked = [q for q in program.total_members(total.id) if should_ask(q, answers, totals)]
        scores = [_score(answers.get(q.id)) for q in asked]
        if asked and all(s is not None for s in scores):
            totals[total.id] = float(sum(s for s in scores if s is not None))
    return totals


def evaluate(
    program: Program,
    answers: Mapping[str, AnswerValue],
    ctx: RuleContext,
    *,
    immediate_only: bool = False,
) -> list[Finding]:
    """The findings of every rule that holds, in program order (questions, then totals).

    ``immediate_only`` looks only at ``immediate`` rules (PHQ-9 item 9, while the check-in is
    still running). A test that needs a previous, baseline or dated value that does not exist
    is simply false; this function does not raise on missing history.
    """
    findings = []
    for subject, rules in _subjects(program, answers):
        for rule in rules:
            if immediate_only and not rule.immediate:
                continue
            if _rule_holds(rule, subject, ctx):
                findings.append(_finding(program, rule, subject, ctx))
    return findings


def _subjects(
    program: Program, answers: Mapping[str, AnswerValue]
) -> list[tuple[_Subject, list[Rule]]]:
    subjects = [
        (_Subject(q.id, answers[q.id], q.unit, q.sensitive, q.type), q.rules)
        for q in program.questions
        if q.id in answers and q.rules
    ]
    totals = compute_totals(program, answers)
    subjects += [
        (_Subject(t.id, totals[t.id], None, t.sensitive, "total"), t.rules)
        for t in program.totals
        if t.id in totals and t.rules
    ]
    return subjects


def _rule_holds(rule: Rule, subject: _Subject, ctx: RuleContext) -> bool:
    if not all(_test(c, subject, ctx) for c in rule.all_of):
        return False
    return not rule.any_of or any(_test(c, subject, ctx) for c in rule.any_of)


def _test(condition: RuleCondition, subject: _Subject, ctx: RuleContext) -> bool:
    than = condition.than
    if condition.equals is not None:
        return _compare(subject.value, "==", condition.equals)
    if condition.value is not None:
        return _compare(subject.value, condition.value, than)
    if condition.crosses_into is not None:
        return _crosses(condition.crosses_into, subject, ctx)
    if condition.gain_within_days is not None:
        gain = _largest_gain(subject, ctx, condition.gain_within_days)
        return gain is not None and than is not None and gain[1] >= than
    change = _change(condition, subject, ctx)
    op = (
        condition.change_from_previous
        or condition.change_from_baseline
        or condition.pct_change_from_previous
    )
    return change is not None and op is not None and _compare(change, op, than)


def _change(condition: RuleCondition, subject: _Subject, ctx: RuleContext) -> float | None:
    if condition.change_from_baseline is not None:
        return _difference(subject.value, ctx.baseline.get(subject.id))
    previous = _number(ctx.previous.get(subject.id))
    change = _difference(subject.value, previous)
    if condition.pct_change_from_previous is None or change is None or previous is None:
        return change
    return None if previous == 0 else change / abs(previous) * 100


def _difference(value: AnswerValue | None, earlier: AnswerValue | None) -> float | None:
    now, then = _number(value), _number(earlier)
    return None if now is None or then is None else now - then


def _crosses(edges: list[float], subject: _Subject, ctx: RuleContext) -> bool:
    value = _number(subject.value)
    previous = _number(ctx.previous.get(subject.id))
    if value is None or previous is None:
        return False
    return any(previous < edge <= value for edge in edges)


def _largest_gain(subject: _Subject, ctx: RuleContext, days: float) -> tuple[float, float] | None:
    """(earlier reading, gain) for the largest rise since a reading less than ``days`` ago."""
    value = _number(subject.value)
    if value is None:
        return None
    window = timedelta(days=days)
    earlier = [
        reading
        for when, question_id, reading in ctx.readings
        if question_id == subject.id and timedelta(0) <= ctx.now - when < window
    ]
    if not earlier:
        return None
    lowest = min(earlier)
    return lowest, value - lowest


def _finding(program: Program, rule: Rule, subject: _Subject, ctx: RuleContext) -> Finding:
    previous, change = _reference(rule, subject, ctx)
    baseline = ctx.baseline.get(subject.id)
    words = {
        "value": _show(subject.value),
        "previous": _show(previous),
        "baseline": _show(baseline),
        "change": _show(change),
        "unit": _UNIT_LABELS.get(subject.unit or "", subject.unit or ""),
    }
    return Finding(
        rule_id=rule.id,
        severity=Severity.parse(rule.severity),
        explanation=_format(rule.explanation, words),
        category=program.id,
        question_id=subject.id,
        value=_stored(subject.value),
        previous=_stored(previous),
        baseline=_stored(baseline),
        sensitive=rule.sensitive or subject.sensitive,
        response=rule.response,
    )


def _reference(
    rule: Rule, subject: _Subject, ctx: RuleContext
) -> tuple[AnswerValue | None, float | None]:
    """The (previous, change) a finding reports: the dated reading and the gain for a
    ``gain_within_days`` rule, the rise from baseline for a baseline rule, else last time."""
    previous = ctx.previous.get(subject.id)
    for condition in rule.all_of + rule.any_of:
        if condition.gain_within_days is not None:
            gain = _largest_gain(subject, ctx, condition.gain_within_days)
            return gain if gain is not None else (previous, None)
        if condition.change_from_baseline is not None:
            return previous, _change(condition, subject, ctx)
    return previous, _difference(subject.value, previous)


def _format(template: str, words: dict[str, str]) -> str:
    try:
        return template.format_map(_Blank(words))
    except (ValueError, IndexError, AttributeError):
        return template


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _compare(actual: AnswerValue | None, op: str, expected: AnswerValue | None) -> bool:
    if actual is None or expected is None:
        return False
    if isinstance(actual, bool) or isinstance(expected, bool):
        if not (isinstance(actual, bool) and isinstance(expected, bool)):
            return False
        return _equality(actual == expected, op)
    if isinstance(actual, str) or isinstance(expected, str):
        if not (isinstance(actual, str) and isinstance(expected, str)):
            return False
        return _equality(actual.strip().casefold() == expected.strip().casefold(), op)
    return _OPS[op](float(actual), float(expected))


def _equality(same: bool, op: str) -> bool:
    """Yes/no and text answers compare only for (in)equality."""
    return same if op == "==" else not same if op == "!=" else False


_OPS: Final[dict[str, Callable[[float, float], bool]]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}


def _number(value: AnswerValue | None) -> float | None:
    if value is None or isinstance(value, bool | str):
        return None
    return float(value)


def _score(value: AnswerValue | None) -> float | None:
    """A total's share of an answer: numbers as they are, yes 1, no 0; text none."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    return _number(value)


def _stored(value: AnswerValue | None) -> float | str | None:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def _show(value: AnswerValue | None) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    rounded = round(float(value), 1)
    return str(int(rounded)) if rounded.is_integer() else str(rounded)
