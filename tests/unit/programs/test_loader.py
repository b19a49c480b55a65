"""Program files: the built-ins load, and a bad file names the file, the question and the field."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from outreach.errors import ProgramError
from outreach.programs import (
    BUILTIN_IDS,
    Program,
    builtin_programs,
    load_program,
    load_programs,
)

GOOD = """\
id: custom
name: {en: "Custom", es: "Personal"}
languages: [en, es]
questions:
  - id: pain
    type: scale
    min: 0
    max: 10
    text: {en: "Pain 0-10?", es: "¿Dolor 0-10?"}
    rules:
      - id: pain.high
        severity: routine
        explanation: "Pain {value}."
        all_of:
          - {value: ">=", than: 7}
  - id: note
    type: text
    text: {en: "Anything else?", es: "¿Algo más?"}
"""


def write(tmp_path: Path, text: str, name: str = "custom.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str, name: str = "custom.yaml") -> str:
    with pytest.raises(ProgramError) as caught:
        load_program(write(tmp_path, text, name))
    return str(caught.value)


@pytest.mark.parametrize("program_id", BUILTIN_IDS)
@pytest.mark.parametrize("language", ["en", "es"])
def test_builtin_program_has_every_text_in_both_languages(program_id: str, language: str) -> None:
    program = builtin_programs()[program_id]
    assert program.id == program_id
    assert set(program.languages) == {"en", "es"}
    assert program.name.get(language)
    for question in program.questions:
        assert getattr(question.text, language), question.id
        for option in question.options:
            assert getattr(option.label, language), (question.id, option.value)


@pytest.mark.parametrize("program_id", BUILTIN_IDS)
def test_every_builtin_program_ends_with_the_optional_free_text(program_id: str) -> None:
    last = builtin_programs()[program_id].questions[-1]
    assert (last.id, last.type) == ("anything_else", "text")


def test_builtin_programs_are_cached_but_returned_as_a_fresh_dict() -> None:
    first, second = builtin_programs(), builtin_programs()
    assert first is not second
    assert first["general"] is second["general"]


def test_depression_program_has_the_item9_safety_path() -> None:
    program = builtin_programs()["depression"]
    follow_up = program.question("suicidal_thoughts_now")
    assert follow_up.preface == "crisis"
    assert follow_up.no_reminders
    assert follow_up.sensitive
    assert follow_up.ask_if[0].question == "phq_9"
    (rule,) = follow_up.rules
    assert (rule.severity, rule.response, rule.immediate) == ("emergency", "crisis", True)
    item9 = program.question("phq_9").rules[0]
    assert (item9.id, item9.severity, item9.immediate, item9.sensitive) == (
        "phq9.item9_positive",
        "urgent",
        True,
        True,
    )
    assert all(q.sensitive for q in program.questions if q.id.startswith(("phq", "gad")))
    assert all(t.sensitive for t in program.totals)


def test_a_good_custom_file_loads(tmp_path: Path) -> None:
    program = load_program(write(tmp_path, GOOD))
    assert isinstance(program, Program)
    assert [q.id for q in program.questions] == ["pain", "note"]


def test_custom_directory_adds_and_may_override_builtins(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    write(tmp_path, GOOD.replace("id: custom", "id: general"), "mine.yml")
    programs = load_programs(tmp_path)
    assert set(programs) == {*BUILTIN_IDS, "custom"}
    assert programs["general"].name.en == "Custom"
    assert builtin_programs()["general"].name.en != "Custom"


def test_two_custom_files_with_one_id_are_an_error(tmp_path: Path) -> None:
    write(tmp_path, GOOD, "a.yaml")
    write(tmp_path, GOOD, "b.yaml")
    with pytest.raises(
        ProgramError, match=re.escape("b.yaml: program id 'custom' is also used by")
    ):
        load_programs(tmp_path)


def test_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ProgramError, match="not a directory"):
        load_programs(tmp_path / "nope")


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    message = error_of(tmp_path, "id: x\nname: {en: 'a'\nquestions: []\n", "broken.yaml")
    assert "broken.yaml: line 3" in message
    assert "invalid YAML" in message


def test_a_file_that_is_not_a_mapping_is_an_error(tmp_path: Path) -> None:
    assert "must be a mapping" in error_of(tmp_path, "- just\n- a list\n")


def test_pydantic_errors_name_question_and_field(tmp_path: Path) -> None:
    text = GOOD.replace("max: 10", "max: lots")
    message = error_of(tmp_path, text, "heart_failure.yaml")
    assert "heart_failure.yaml: question 'pain': field 'max': " in message


def test_rule_errors_name_question_rule_and_field(tmp_path: Path) -> None:
    text = GOOD.replace('{value: ">=", than: 7}', '{value: ">=", than: "x"}')
    message = error_of(tmp_path, text)
    assert "question 'pain': rule 'pain.high': field 'all_of[0].than'" in message


def test_question_level_errors_name_the_question(tmp_path: Path) -> None:
    message = error_of(tmp_path, GOOD.replace("    min: 0\n", ""))
    assert "question 'pain': a scale question needs 'min' and 'max'" in message


def test_unknown_field_is_named(tmp_path: Path) -> None:
    message = error_of(tmp_path, GOOD.replace("    min: 0\n", "    min: 0\n    maxx: 3\n"))
    assert "question 'pain': field 'maxx': Extra inputs are not permitted" in message


def test_duplicate_question_ids(tmp_path: Path) -> None:
    message = error_of(tmp_path, GOOD.replace("id: note", "id: pain"))
    assert "question 'pain': field 'id': another question has the same id" in message


def test_missing_language_text(tmp_path: Path) -> None:
    message = error_of(tmp_path, GOOD.replace('es: "¿Algo más?"', "es: ''"))
    assert "question 'note': field 'text.es': the 'es' text is missing" in message


def test_ask_if_must_reference_an_earlier_question(tmp_path: Path) -> None:
    text = GOOD.replace(
        "    type: scale\n", "    type: scale\n    ask_if:\n      - {question: note, value: x}\n"
    )
    message = error_of(tmp_path, text)
    assert "question 'pain': field 'ask_if[0]': 'note' is not an earlier question" in message


def test_ask_if_value_must_fit_the_answer_type(tmp_path: Path) -> None:
    text = GOOD.replace(
        "    type: text\n", "    type: text\n    ask_if:\n      - {question: pain, value: true}\n"
    )
    message = error_of(tmp_path, text)
    assert "question 'note': field 'ask_if[0]': this answer is a number" in message


def test_unknown_total_is_named(tmp_path: Path) -> None:
    message = error_of(tmp_path, GOOD.replace("    min: 0\n", "    min: 0\n    totals: [sum]\n"))
    assert "question 'pain': field 'totals': no total 'sum' in 'totals'" in message


def test_total_with_no_members_is_named(tmp_path: Path) -> None:
    text = GOOD.replace("questions:", "totals:\n  - {id: lonely, label: L}\nquestions:")
    assert "total 'lonely': field 'id': no question lists this total" in error_of(tmp_path, text)


def test_change_rule_on_a_text_question_is_an_error(tmp_path: Path) -> None:
    text = GOOD + (
        "    rules:\n"
        "      - id: note.change\n"
        "        severity: routine\n"
        "        explanation: x\n"
        "        all_of:\n"
        '          - {change_from_previous: ">=", than: 2}\n'
    )
    message = error_of(tmp_path, text, "heart_failure.yaml")
    assert (
        "heart_failure.yaml: question 'note': rule 'note.change': field 'all_of[0]': "
        "'change_from_previous' does not fit a text answer"
    ) in message


def test_gain_within_days_only_on_number_questions(tmp_path: Path) -> None:
    text = GOOD.replace('{value: ">=", than: 7}', "{gain_within_days: 2, than: 3}")
    assert "'gain_within_days' does not fit a scale answer" in error_of(tmp_path, text)


def test_rule_needs_than(tmp_path: Path) -> None:
    text = GOOD.replace('{value: ">=", than: 7}', '{value: ">="}')
    message = error_of(tmp_path, text)
    assert "question 'pain': rule 'pain.high': field 'all_of[0]': 'value' needs 'than'" in message


def test_unknown_explanation_placeholder(tmp_path: Path) -> None:
    message = error_of(tmp_path, GOOD.replace("Pain {value}.", "Pain {score}."))
    assert "rule 'pain.high': field 'explanation': unknown placeholder score" in message


def test_duplicate_rule_ids(tmp_path: Path) -> None:
    extra = GOOD.replace("      - id: pain.high\n", "      - id: pain.high\n", 1)
    rule = extra[extra.index("      - id: pain.high") : extra.index("  - id: note")]
    text = extra.replace(rule, rule + rule)
    assert "rule id 'pain.high' is used twice" in error_of(tmp_path, text)


def test_equals_on_a_choice_must_be_an_option_value(tmp_path: Path) -> None:
    text = """\
    id: c
    name: {en: C}
    languages: [en]
    questions:
      - id: mood
        type: choice
        text: {en: "Mood?"}
        options:
          - {value: 1, label: {en: Good}}
          - {value: 2, label: {en: Bad}}
        rules:
          - id: mood.bad
            severity: routine
            explanation: x
            all_of: [{equals: 3}]
    """
    assert "question 'mood': rule 'mood.bad': field 'all_of[0]': 3.0 is not the value" in (
        error_of(tmp_path, text)
    )


def test_yes_no_rule_compares_with_true_or_false(tmp_path: Path) -> None:
    text = """\
    id: c
    name: {en: C}
    languages: [en]
    questions:
      - id: fell
        type: yesno
        text: {en: "Fell?"}
        rules:
          - {id: fell.yes, severity: routine, explanation: x, all_of: [{equals: 1}]}
    """
    assert "field 'all_of[0]': a yes/no answer compares only" in error_of(tmp_path, text)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ProgramError, match="cannot read"):
        load_program(tmp_path / "missing.yaml")
