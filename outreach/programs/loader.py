"""Loading program files: YAML → validated :class:`Program`, with errors that name the spot."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from string import Formatter
from typing import Final

import yaml
from pydantic import ValidationError

from outreach.errors import ProgramError
from outreach.programs.model import Condition, Program, Question, Rule, RuleCondition, Text

BUILTIN_IDS: Final = ("general", "heart_failure", "copd", "diabetes", "depression")
PLACEHOLDERS: Final = frozenset({"value", "previous", "baseline", "change", "unit"})
_UNION_TAGS: Final = frozenset({"float", "bool", "str", "int"})
_NUMERIC_TESTS: Final = (
    "value",
    "equals",
    "change_from_previous",
    "change_from_baseline",
    "pct_change_from_previous",
    "crosses_into",
)
_TESTS_BY_TYPE: Final[dict[str, tuple[str, ...]]] = {
    "text": ("equals",),
    "yesno": ("equals",),
    "choice": _NUMERIC_TESTS,
    "scale": _NUMERIC_TESTS,
    "number": (*_NUMERIC_TESTS, "gain_within_days"),
    "total": _NUMERIC_TESTS,
}
_Problem = tuple[str, str, str]
"""(where: "question 'weight'" or "", field: "rules[0].all_of[1]" or "", message)."""


def load_program(path: Path) -> Program:
    """Read and validate one program file.

    Raises ``ProgramError`` naming the file, the question (or total) and the field:
    ``heart_failure.yaml: question 'weight': field 'max': ...``; invalid YAML names the line.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProgramError(f"{path}: cannot read the file: {exc.strerror}") from exc
    return parse_program(text, str(path))


def parse_program(text: str, source: str) -> Program:
    """Validate a program from YAML ``text``; ``source`` names it in errors."""
    data = _read_yaml(text, source)
    try:
        program = Program.model_validate(data)
    except ValidationError as exc:
        raise ProgramError(_report(source, _translate(data, exc))) from exc
    problems = list(check_program(program))
    if problems:
        raise ProgramError(_report(source, problems))
    return program


def builtin_programs() -> dict[str, Program]:
    """The built-in programs by id (parsed once, then cached)."""
    return dict(_builtin())


def load_programs(extra_dir: Path | None = None) -> dict[str, Program]:
    """The built-in programs plus every ``*.yaml``/``*.yml`` file in ``extra_dir``.

    A custom program whose id equals a built-in one replaces it (a deliberate override, e.g. a
    team's own heart failure wording). Two custom files with the same id are an error.
    """
    programs = builtin_programs()
    if extra_dir is None:
        return programs
    if not extra_dir.is_dir():
        raise ProgramError(f"{extra_dir}: not a directory of program files")
    seen: dict[str, Path] = {}
    for path in sorted([*extra_dir.glob("*.yaml"), *extra_dir.glob("*.yml")]):
        program = load_program(path)
        if program.id in seen:
            other = seen[program.id]
            raise ProgramError(f"{path}: program id '{program.id}' is also used by {other}")
        seen[program.id] = path
        programs[program.id] = program
    return programs


@functools.cache
def _builtin() -> tuple[tuple[str, Program], ...]:
    folder = resources.files(__package__)
    loaded = []
    for program_id in BUILTIN_IDS:
        text = folder.joinpath(f"{program_id}.yaml").read_text(encoding="utf-8")
        loaded.append((program_id, parse_program(text, f"{program_id}.yaml")))
    return tuple(loaded)


def _read_yaml(text: str, source: str) -> object:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ProgramError(f"{source}: {where}invalid YAML: {problem}") from exc
    if not isinstance(data, dict):
        raise ProgramError(f"{source}: a program file must be a mapping (id, name, questions…)")
    return data


def _report(source: str, problems: list[_Problem]) -> str:
    lines = []
    for where, field, message in problems:
        parts = [source, where, f"field '{field}'" if field else "", message]
        line = ": ".join(p for p in parts if p)
        if line not in lines:
            lines.append(line)
    return "\n".join(lines)


def _translate(data: object, exc: ValidationError) -> list[_Problem]:
    """Pydantic locations → question/total/rule ids and a dotted field path."""
    problems = []
    for error in exc.errors():
        loc = list(error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        if loc and loc[-1] in _UNION_TAGS:
            loc, message = loc[:-1], "should be a number, true/false or text"
        where, rest = _locate(data, loc)
        problems.append((where, _dotted(rest), message))
    return problems


def _locate(data: object, loc: list[int | str]) -> tuple[str, list[int | str]]:
    if len(loc) < 2 or loc[0] not in ("questions", "totals") or not isinstance(loc[1], int):
        return "", loc
    kind = "question" if loc[0] == "questions" else "total"
    item = _item(data, str(loc[0]), loc[1])
    where = f"{kind} {_label(item, loc[1])}"
    rest = loc[2:]
    if len(rest) >= 2 and rest[0] == "rules" and isinstance(rest[1], int):
        where += f": rule {_label(_item(item, 'rules', rest[1]), rest[1])}"
        rest = rest[2:]
    return where, rest


def _item(data: object, key: str, index: int) -> object:
    items = data.get(key) if isinstance(data, dict) else None
    return items[index] if isinstance(items, list) and index < len(items) else None


def _label(item: object, index: int) -> str:
    if isinstance(item, dict) and isinstance(item.get("id"), str):
        return f"'{item['id']}'"
    return f"#{index + 1}"


def _dotted(loc: list[int | str]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".")


def check_program(program: Program) -> Iterator[_Problem]:
    """The checks pydantic cannot make: ids, references, languages and rule kinds."""
    yield from _check_languages(program)
    yield from _check_ids(program)
    yield from _check_totals(program)
    earlier: set[str] = set()
    for question in program.questions:
        where = f"question '{question.id}'"
        yield from _check_question(program, question, earlier, where)
        earlier.add(question.id)
    for total in program.totals:
        yield from _check_rules(program, None, total.rules, f"total '{total.id}'")


def _check_languages(program: Program) -> Iterator[_Problem]:
    texts: list[tuple[str, str, Text | None]] = [("", "name", program.name)]
    texts.append(("", "intro", program.intro))
    for q in program.questions:
        texts.append((f"question '{q.id}'", "text", q.text))
        for index, option in enumerate(q.options):
            texts.append((f"question '{q.id}'", f"options[{index}].label", option.label))
            for language in option.aliases:
                if language not in program.languages:
                    field = f"options[{index}].aliases"
                    yield (f"question '{q.id}'", field, f"'{language}' is not a program language")
    if len(set(program.languages)) != len(program.languages) or not program.languages:
        yield ("", "languages", "list each language once, at least one")
    for where, field, text in texts:
        for language in program.languages:
            if text is not None and not getattr(text, language):
                yield (where, f"{field}.{language}", f"the '{language}' text is missing")


def _check_ids(program: Program) -> Iterator[_Problem]:
    seen: set[str] = set()
    for q in program.questions:
        if q.id in seen:
            yield (f"question '{q.id}'", "id", "another question has the same id")
        seen.add(q.id)
    for t in program.totals:
        if t.id in seen:
            yield (f"total '{t.id}'", "id", "a question or another total has the same id")
        seen.add(t.id)
    rule_ids: set[str] = set()
    for where, rule in _all_rules(program):
        if rule.id in rule_ids:
            yield (where, "rules", f"rule id '{rule.id}' is used twice")
        rule_ids.add(rule.id)


def _all_rules(program: Program) -> Iterator[tuple[str, Rule]]:
    for q in program.questions:
        for rule in q.rules:
            yield f"question '{q.id}': rule '{rule.id}'", rule
    for t in program.totals:
        for rule in t.rules:
            yield f"total '{t.id}': rule '{rule.id}'", rule


def _check_totals(program: Program) -> Iterator[_Problem]:
    total_ids = {t.id for t in program.totals}
    for q in program.questions:
        for name in q.totals:
            if name not in total_ids:
                yield (f"question '{q.id}'", "totals", f"no total '{name}' in 'totals'")
            elif q.type == "text":
                yield (f"question '{q.id}'", "totals", "a text answer cannot be added up")
    for total in program.totals:
        if not program.total_members(total.id):
            yield (f"total '{total.id}'", "id", "no question lists this total")


def _check_question(
    program: Program, question: Question, earlier: set[str], where: str
) -> Iterator[_Problem]:
    if question.unit is not None and question.type not in ("number", "scale"):
        yield (where, "unit", "only number and scale questions have a unit")
    values = [o.value for o in question.options]
    if len(set(values)) != len(values):
        yield (where, "options", "two options have the same value")
    for index, condition in enumerate(question.ask_if):
        message = _ask_if_problem(program, condition, earlier)
        if message:
            yield (where, f"ask_if[{index}]", message)
    yield from _check_rules(program, question, question.rules, where)


def _ask_if_problem(program: Program, condition: Condition, earlier: set[str]) -> str:
    name = condition.question
    total_members = program.total_members(name) if name in {t.id for t in program.totals} else []
    if total_members:
        if not all(m.id in earlier for m in total_members):
            return f"total '{name}' is not complete before this question"
        return _value_problem("total", condition.value, condition.op)
    if name not in earlier:
        return f"'{name}' is not an earlier question or a total"
    return _value_problem(program.question(name).type, condition.value, condition.op)


def _value_problem(kind: str, value: object, op: str) -> str:
    if kind == "yesno":
        ok = isinstance(value, bool) and op in ("==", "!=")
        return "" if ok else "a yes/no answer compares only with == or != true/false"
    if kind == "text":
        return "" if isinstance(value, str) else "a text answer compares only with text"
    return "" if isinstance(value, float) else "this answer is a number: compare with a number"


def _check_rules(
    program: Program, question: Question | None, rules: list[Rule], where: str
) -> Iterator[_Problem]:
    kind = question.type if question is not None else "total"
    for rule in rules:
        at = f"{where}: rule '{rule.id}'"
        for field, condition in _conditions(rule):
            message = _condition_problem(kind, question, condition)
            if message:
                yield (at, field, message)
        names = {name for _, name, _, _ in Formatter().parse(rule.explanation) if name}
        if names - PLACEHOLDERS:
            unknown = ", ".join(sorted(names - PLACEHOLDERS))
            yield (at, "explanation", f"unknown placeholder {unknown}; use {sorted(PLACEHOLDERS)}")


def _conditions(rule: Rule) -> Iterator[tuple[str, RuleCondition]]:
    for index, condition in enumerate(rule.all_of):
        yield f"all_of[{index}]", condition
    for index, condition in enumerate(rule.any_of):
        yield f"any_of[{index}]", condition


def _condition_problem(kind: str, question: Question | None, condition: RuleCondition) -> str:
    test = _test_of(condition)
    if test not in _TESTS_BY_TYPE[kind]:
        return f"'{test}' does not fit a {kind} answer"
    if test == "equals":
        problem = _value_problem(kind, condition.equals, "==")
        if problem or question is None or question.type != "choice":
            return problem
        if condition.equals not in {o.value for o in question.options}:
            return f"{condition.equals} is not the value of an option"
    if test == "crosses_into" and not condition.crosses_into:
        return "'crosses_into' needs at least one band edge"
    if test == "gain_within_days" and (condition.gain_within_days or 0) <= 0:
        return "'gain_within_days' must be a positive number of days"
    return ""


def _test_of(condition: RuleCondition) -> str:
    for name in (*_NUMERIC_TESTS, "gain_within_days"):
        if getattr(condition, name) is not None:
            return name
    return "none"
