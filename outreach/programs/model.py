"""The program schema: questions, answer types, skip logic and escalation rules, as data.

A program is a YAML file validated into these models at load time. Everything here is
immutable. See docs/programs.md for the file format with examples.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Language = Literal["en", "es"]
AnswerValue = float | bool | str
"""A parsed answer: a number (scale, number, choice value), a bool (yes/no) or text (free text)."""

Op = Literal[">=", ">", "<=", "<", "==", "!="]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Text(_Frozen):
    """A text per language; every program language must be present."""

    en: str | None = None
    es: str | None = None

    def get(self, language: str) -> str:
        value = getattr(self, language, None) or self.en
        if value is None:
            raise KeyError(language)
        return str(value)


class ChoiceOption(_Frozen):
    """One labelled option; patients may answer with its value as a number or with label words.

    The number a patient types is the option's ``value`` when the values are distinct whole
    numbers (1–5 general health, 0–3 PHQ items), else its position from 1
    (``outreach.parsing.choices.option_numbers``).
    """

    value: float
    label: Text
    aliases: dict[str, list[str]] = Field(default_factory=dict)
    """Extra words per language that select this option ("poor" -> "bad", "mala")."""


class Condition(_Frozen):
    """``answers[question] <op> value`` — used by skip logic (``ask_if``)."""

    question: str
    op: Op = "=="
    value: AnswerValue


class RuleCondition(_Frozen):
    """One test inside a rule; exactly one of the fields is set.

    - ``value``: the current answer compared with ``than`` (e.g. ``>=`` 7).
    - ``equals``: the current answer equals this (yes/no: true/false; choice: its value).
    - ``change_from_previous`` / ``change_from_baseline``: current minus previous (or baseline)
      compared with ``than``; false when there is no previous (or baseline) value.
    - ``pct_change_from_previous``: the change in percent of the previous value.
    - ``crosses_into``: bands' lower edges; true when the previous value was below an edge and
      the current is at or above it (a first check-in with no previous counts only ``value``).
    - ``gain_within_days``: a rise of at least ``than`` since a dated reading less than
      ``days`` days before now (weight gain per day / per week from dated readings).
    """

    value: Op | None = None
    equals: AnswerValue | None = None
    change_from_previous: Op | None = None
    change_from_baseline: Op | None = None
    pct_change_from_previous: Op | None = None
    crosses_into: list[float] | None = None
    gain_within_days: float | None = None
    than: float | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> RuleCondition:
        kinds = [
            name
            for name in (
                "value",
                "equals",
                "change_from_previous",
                "change_from_baseline",
                "pct_change_from_previous",
                "crosses_into",
                "gain_within_days",
            )
            if getattr(self, name) is not None
        ]
        if len(kinds) != 1:
            raise ValueError(f"a rule condition needs exactly one test, got {kinds or 'none'}")
        needs_than = kinds[0] not in ("equals", "crosses_into")
        if needs_than and self.than is None:
            raise ValueError(f"'{kinds[0]}' needs 'than'")
        return self


class Rule(_Frozen):
    """An escalation rule: when ``all_of`` hold (and one of ``any_of``, if given) → a finding.

    ``explanation`` is a one-line English text for the care manager; it may use ``{value}``,
    ``{previous}``, ``{baseline}``, ``{change}`` and ``{unit}``.
    ``response`` is the patient reply the finding calls for (``emergency`` or ``crisis``).
    ``immediate`` rules escalate as soon as the answer arrives (PHQ-9 item 9), others at the end
    of the check-in.
    """

    id: str
    severity: Literal["routine", "urgent", "emergency"]
    explanation: str
    all_of: list[RuleCondition] = Field(default_factory=list)
    any_of: list[RuleCondition] = Field(default_factory=list)
    sensitive: bool = False
    response: Literal["", "emergency", "crisis"] = ""
    immediate: bool = False

    @model_validator(mode="after")
    def _has_conditions(self) -> Rule:
        if not self.all_of and not self.any_of:
            raise ValueError("a rule needs 'all_of' or 'any_of'")
        return self


QuestionType = Literal["scale", "choice", "yesno", "number", "text"]
Unit = Literal["lb", "mg_dl", "days", "count", "points"]


class Question(_Frozen):
    """One question of a program.

    ``unit`` (number questions) is the unit answers are stored in; patients may answer in
    another known unit (kg for lb, mmol/L for mg/dL) and the parser converts.
    ``preface`` puts a locale text before the question in the same message (``crisis`` for the
    PHQ-9 item-9 follow-up). ``no_reminders`` stops reminders while this question waits.
    ``total`` names a score group: the sum of its questions is available to rules and skip logic
    under that name (e.g. ``phq2`` and ``phq9``).
    """

    id: str
    text: Text
    type: QuestionType
    min: float | None = None
    max: float | None = None
    unit: Unit | None = None
    options: list[ChoiceOption] = Field(default_factory=list)
    ask_if: list[Condition] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)
    totals: list[str] = Field(default_factory=list)
    sensitive: bool = False
    preface: Literal["", "crisis"] = ""
    no_reminders: bool = False
    chart: bool = False
    """Draw this answer's trend on the patient page (scores, weight)."""

    @model_validator(mode="after")
    def _type_fields(self) -> Question:
        if self.type == "choice" and len(self.options) < 2:
            raise ValueError("a choice question needs at least two options")
        if self.type in ("scale", "number") and (self.min is None or self.max is None):
            raise ValueError(f"a {self.type} question needs 'min' and 'max'")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("'min' is greater than 'max'")
        if self.type != "choice" and self.options:
            raise ValueError("only choice questions have 'options'")
        return self


class Total(_Frozen):
    """A score group's rules (evaluated once every question of the group has an answer)."""

    id: str
    label: str
    rules: list[Rule] = Field(default_factory=list)
    sensitive: bool = False
    chart: bool = True


class CadenceSpec(_Frozen):
    """The program's default cadence, in the same words as the import's checkin_day/time."""

    day: str = "1"
    time: str = "10:00"


class Program(_Frozen):
    """A check-in program."""

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    name: Text
    languages: list[Language]
    cadence: CadenceSpec = Field(default_factory=CadenceSpec)
    intro: Text | None = None
    """Optional line after the greeting (what the check-in is about, without a diagnosis)."""
    questions: list[Question]
    totals: list[Total] = Field(default_factory=list)

    def question(self, question_id: str) -> Question:
        for q in self.questions:
            if q.id == question_id:
                return q
        raise KeyError(question_id)

    def total_members(self, total_id: str) -> list[Question]:
        return [q for q in self.questions if total_id in q.totals]
