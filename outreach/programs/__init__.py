"""Check-in programs: the schema (``model``) and the loader of YAML program files."""

from outreach.programs.loader import (
    BUILTIN_IDS,
    builtin_programs,
    load_program,
    load_programs,
    parse_program,
)
from outreach.programs.model import (
    AnswerValue,
    ChoiceOption,
    Condition,
    Program,
    Question,
    Rule,
    RuleCondition,
    Text,
    Total,
)

__all__ = [
    "BUILTIN_IDS",
    "AnswerValue",
    "ChoiceOption",
    "Condition",
    "Program",
    "Question",
    "Rule",
    "RuleCondition",
    "Text",
    "Total",
    "builtin_programs",
    "load_program",
    "load_programs",
    "parse_program",
]
