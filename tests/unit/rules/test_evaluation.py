"""The rule engine itself on small hand-made programs: tests, totals, skip logic, wording."""

from __future__ import annotations

import pytest

from outreach.findings import Severity
from outreach.programs import AnswerValue, Condition, Program, Question
from outreach.rules import RuleContext, compute_totals, condition_holds, evaluate, should_ask
from tests.unit.rules.checkins import NOW

PROGRAM = Program.model_validate(
    {
        "id": "demo",
        "name": {"en": "Demo"},
        "languages": ["en"],
        "totals": [
            {
                "id": "score",
                "label": "Score",
                "rules": [
                    {
                        "id": "score.high",
                        "severity": "routine",
                        "explanation": "Score {value} (was {previous}, change {change}).",
                        "all_of": [{"value": ">=", "than": 2}],
                    }
                ],
            }
        ],
        "questions": [
            {"id": "a", "type": "yesno", "text": {"en": "A?"}, "totals": ["score"]},
            {
                "id": "b",
                "type": "scale",
                "min": 0,
                "max": 3,
                "text": {"en": "B?"},
                "totals": ["score"],
                "ask_if": [{"question": "a", "value": True}],
            },
            {
                "id": "weight",
                "type": "number",
                "unit": "lb",
                "min": 50,
                "max": 700,
                "text": {"en": "Weight?"},
                "rules": [
                    {
                        "id": "weight.any",
                        "severity": "urgent",
                        "explanation": "Weight {value} {unit}; base {baseline}; {change}.",
                        "any_of": [
                            {"change_from_baseline": ">=", "than": 5},
                            {"value": ">", "than": 400},
                        ],
                    },
                    {
                        "id": "weight.drop",
                        "severity": "routine",
                        "explanation": "Down {change} {unit} ({previous} → {value}).",
                        "all_of": [{"change_from_previous": "<=", "than": -10}],
                        "immediate": True,
                    },
                ],
            },
            {
                "id": "note",
                "type": "text",
                "text": {"en": "Note?"},
                "rules": [
                    {
                        "id": "note.help",
                        "severity": "routine",
                        "explanation": "Asked for {value}.",
                        "all_of": [{"equals": "HELP"}],
                    }
                ],
            },
        ],
    }
)


def ctx(
    previous: dict[str, AnswerValue] | None = None,
    baseline: dict[str, AnswerValue] | None = None,
) -> RuleContext:
    return RuleContext(now=NOW, previous=previous or {}, baseline=baseline or {})


def rule_ids(answers: dict[str, AnswerValue], context: RuleContext | None = None) -> set[str]:
    return {f.rule_id for f in evaluate(PROGRAM, answers, context or ctx())}


def test_yes_counts_one_in_a_total_and_skipped_members_do_not_count() -> None:
    assert compute_totals(PROGRAM, {"a": True, "b": 2.0}) == {"score": 3.0}
    assert compute_totals(PROGRAM, {"a": False}) == {"score": 0.0}
    assert compute_totals(PROGRAM, {"a": True}) == {}
    assert compute_totals(PROGRAM, {}) == {}


def test_a_text_answer_to_a_member_leaves_the_total_out() -> None:
    assert compute_totals(PROGRAM, {"a": True, "b": "three"}) == {}


def test_total_rules_and_explanation_with_missing_previous() -> None:
    (finding,) = evaluate(PROGRAM, {"a": True, "b": 1.0}, ctx())
    assert finding.rule_id == "score.high"
    assert finding.question_id == "score"
    assert finding.explanation == "Score 2 (was n/a, change n/a)."
    assert finding.category == "demo"
    assert finding.severity is Severity.ROUTINE


def test_any_of_rule_and_baseline_wording() -> None:
    assert rule_ids({"weight": 184.0}, ctx(baseline={"weight": 180.0})) == set()
    found = evaluate(PROGRAM, {"weight": 185.5}, ctx(baseline={"weight": 180.0}))
    assert [f.explanation for f in found] == ["Weight 185.5 lb; base 180; 5.5."]
    assert rule_ids({"weight": 401.0}) == {"weight.any"}


def test_negative_change_and_immediate_only() -> None:
    history = ctx(previous={"weight": 200.0})
    found = evaluate(PROGRAM, {"weight": 190.0}, history, immediate_only=True)
    assert [f.explanation for f in found] == ["Down -10 lb (200 → 190)."]
    assert evaluate(PROGRAM, {"weight": 191.0}, history, immediate_only=True) == []


def test_text_equals_ignores_case_and_space() -> None:
    assert rule_ids({"note": " help "}) == {"note.help"}
    assert rule_ids({"note": "helpful"}) == set()


def test_history_of_the_wrong_type_is_ignored() -> None:
    history = ctx(previous={"weight": "heavy"}, baseline={"weight": True})
    assert rule_ids({"weight": 190.0}, history) == set()


def test_unknown_answers_are_ignored() -> None:
    assert rule_ids({"nope": 3.0}) == set()


@pytest.mark.parametrize(
    ("condition", "values", "holds"),
    [
        (Condition(question="a", value=True), {"a": True}, True),
        (Condition(question="a", value=True), {"a": False}, False),
        (Condition(question="a", op="!=", value=True), {"a": False}, True),
        (Condition(question="a", op=">=", value=True), {"a": True}, False),
        (Condition(question="a", value=1.0), {"a": True}, False),
        (Condition(question="b", op=">=", value=3.0), {"b": 3.0}, True),
        (Condition(question="b", op="<", value=3.0), {"b": 3.0}, False),
        (Condition(question="b", op="==", value=3.0), {}, False),
        (Condition(question="n", value="Yes"), {"n": "yes"}, True),
        (Condition(question="n", op="!=", value="x"), {"n": "y"}, True),
        (Condition(question="n", op=">", value="x"), {"n": "y"}, False),
        (Condition(question="n", value="x"), {"n": 1.0}, False),
    ],
)
def test_condition_holds(condition: Condition, values: dict[str, AnswerValue], holds: bool) -> None:
    assert condition_holds(condition, values) is holds


def test_should_ask_uses_answers_and_totals() -> None:
    question = Question.model_validate(
        {
            "id": "q",
            "type": "yesno",
            "text": {"en": "Q?"},
            "ask_if": [{"question": "score", "op": ">=", "value": 2}],
        }
    )
    assert not should_ask(question, {})
    assert should_ask(question, {}, {"score": 2.0})
    assert should_ask(PROGRAM.question("a"), {})


def test_bad_explanation_template_does_not_raise() -> None:
    program = PROGRAM.model_copy(deep=True)
    weight = program.question("weight")
    rule = weight.rules[0].model_copy(update={"explanation": "Weight {value:%} {oops} {}"})
    weight_copy = weight.model_copy(update={"rules": [rule]})
    broken = program.model_copy(update={"questions": [weight_copy]})
    (finding,) = evaluate(broken, {"weight": 500.0}, ctx())
    assert finding.explanation == "Weight {value:%} {oops} {}"
