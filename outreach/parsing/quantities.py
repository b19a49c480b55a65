"""Units in replies ("182 lb", "82,5 kilos", "5.5 mmol") and conversion to the stored unit."""

from __future__ import annotations

from typing import Final

from outreach.errors import ParseError

LB_PER_KG: Final = 2.20462262
MG_DL_PER_MMOL_L: Final = 18.0
"""Glucose: 1 mmol/L = 18 mg/dL (the clinical convention; 18.016 exactly)."""

_UNIT_WORDS: Final[dict[str, str]] = {
    "lb": "lb", "lbs": "lb", "pound": "lb", "pounds": "lb", "libra": "lb", "libras": "lb",
    "#": "lb",
    "kg": "kg", "kgs": "kg", "kilo": "kg", "kilos": "kg", "kilogram": "kg", "kilograms": "kg",
    "kilogramo": "kg", "kilogramos": "kg",
    "mg": "mg_dl", "mgdl": "mg_dl",
    "mmol": "mmol", "mmoll": "mmol", "mmols": "mmol", "milimoles": "mmol",
}  # fmt: skip
_FACTORS: Final[dict[tuple[str, str], float]] = {
    ("kg", "lb"): LB_PER_KG,
    ("mmol", "mg_dl"): MG_DL_PER_MMOL_L,
}
_DECIMALS: Final[dict[str, int]] = {"lb": 1, "mg_dl": 0}
_CONVERTIBLE: Final = frozenset({"lb", "kg", "mg_dl", "mmol"})
ALTERNATIVES: Final[dict[str, str]] = {"lb": "kg", "mg_dl": "mmol"}
"""The other unit a patient may answer in, per stored unit."""


def units_in(toks: list[str]) -> set[str]:
    """The units named in the tokens (``lb``, ``kg``, ``mg_dl``, ``mmol``)."""
    return {_UNIT_WORDS[tok] for tok in toks if tok in _UNIT_WORDS}


def to_stored(value: float, given: set[str], stored: str | None) -> float:
    """Convert ``value`` typed in the ``given`` units into the ``stored`` unit.

    A bare number is taken to be in the stored unit. Raises ``ParseError`` (empty message) for
    two different units or a unit that does not fit the question.
    """
    relevant = given & _CONVERTIBLE
    if not relevant:
        return value
    if stored is None or len(relevant) > 1 or not relevant <= {stored, ALTERNATIVES.get(stored)}:
        raise ParseError("")
    unit = relevant.pop()
    if unit == stored:
        return value
    return round(value * _FACTORS[(unit, stored)], _DECIMALS.get(stored, 2))
