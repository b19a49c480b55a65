"""Red flags in free text (CLINICAL §2), in English and Spanish, graded by their context."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from outreach.findings import Finding, Severity
from outreach.triage.context import ContextFlags, Document, assess_tokens, parse
from outreach.triage.lexicon import Cue, Match, RedFlag, load_data, redflag_lexicon


@dataclass(frozen=True, slots=True)
class _Raw:
    """A red-flag match before context: tokens [start, end), code, and a number if read."""

    start: int
    end: int
    code: str
    other: bool = False
    value: float | None = None


@dataclass(frozen=True, slots=True)
class _Band:
    low: float
    high: float
    code: str


@dataclass(frozen=True, slots=True)
class _Numbers:
    """numeric.yaml: how numbers in a text map to codes."""

    bands: Mapping[str, tuple[_Band, ...]]
    mmol_below: float
    mmol_factor: float
    celsius_below: float
    bare_decimal: tuple[_Band, ...]
    kg_words: frozenset[str]
    kg_factor: float
    week_words: frozenset[str]
    systolic_from: float
    diastolic_from: float
    pressure_code: str


def _bands(rows: Iterable[Mapping[str, Any]]) -> tuple[_Band, ...]:
    return tuple(
        _Band(float(r.get("from", float("-inf"))), float(r["below"]), str(r.get("code", "")))
        for r in rows
    )


@cache
def _numbers() -> _Numbers:
    data = load_data("numeric.yaml")
    sugar, temp, weight = data["sugar"], data["temperature"], data["weight_gain"]
    pressure = data["blood_pressure"]
    return _Numbers(
        bands={
            "sugar": _bands(sugar["bands"]),
            "temperature": _bands(temp["bands"]),
            "pain_score": _bands(data["pain_score"]["bands"]),
            "weight_gain": _bands(weight["bands"]),
            "weight_gain_week": _bands(weight["week_bands"]),
        },
        mmol_below=float(sugar["mmol_below"]),
        mmol_factor=float(sugar["mmol_factor"]),
        celsius_below=float(temp["celsius_below"]),
        bare_decimal=_bands(temp["bare_decimal"]),
        kg_words=frozenset(weight["kg_words"]),
        kg_factor=float(weight["kg_factor"]),
        week_words=frozenset(weight["week_words"]),
        systolic_from=float(pressure["systolic_from"]),
        diastolic_from=float(pressure["diastolic_from"]),
        pressure_code=str(pressure["code"]),
    )


def _band(bands: Sequence[_Band], value: float) -> str | None:
    return next((b.code for b in bands if b.low <= value < b.high), None)


def _reading(doc: Document, match: Match[Cue]) -> Iterator[_Raw]:
    """The codes that the numbers of one reading ("sugar 45", "8/10") map to."""
    tokens = doc.tokens[match.start : match.end]
    values = [float(t.key) for t in tokens if t.kind == "num"]
    kind = match.payload.name
    if kind == "blood_pressure":
        codes = [_blood_pressure(values)]
    elif kind == "sugar":
        codes = [_sugar(v) for v in values]
    elif kind == "weight_gain":
        units = {t.key for t in tokens}
        codes = [_weight_gain(values[0], units, doc.keyed.key_set)]
    elif kind == "temperature":
        codes = [_temperature(values[0])]
    else:
        codes = [_band(_numbers().bands[kind], values[0])]
    for code, value in zip(codes, values, strict=False):
        if code:
            yield _Raw(match.start, match.end, code, value=value)


def _sugar(value: float) -> str | None:
    numbers = _numbers()
    if value < numbers.mmol_below:  # mmol/L
        value *= numbers.mmol_factor
    return _band(numbers.bands["sugar"], value)


def _temperature(value: float) -> str | None:
    numbers = _numbers()
    if value < numbers.celsius_below:
        value = value * 9 / 5 + 32
    return _band(numbers.bands["temperature"], value)


def _weight_gain(value: float, units: set[str], keys: frozenset[str]) -> str | None:
    numbers = _numbers()
    if units & numbers.kg_words:
        value *= numbers.kg_factor
    week = bool(numbers.week_words & keys)
    return _band(numbers.bands["weight_gain_week" if week else "weight_gain"], value)


def _blood_pressure(values: Sequence[float]) -> str | None:
    numbers = _numbers()
    systolic, diastolic = [*values, 0.0, 0.0][:2]
    high = systolic >= numbers.systolic_from or diastolic >= numbers.diastolic_from
    return numbers.pressure_code if high else None


def _bare_temperatures(doc: Document, taken: Sequence[Match[Cue]]) -> Iterator[_Raw]:
    """A decimal such as "101.5" that no other reading claimed is a temperature."""
    numbers = _numbers()
    for index, token in enumerate(doc.tokens):
        if token.kind != "num" or "." not in token.key:
            continue
        if any(r.start <= index < r.end for r in taken):
            continue
        value = float(token.key)
        if _band(numbers.bare_decimal, value) is None:
            continue
        code = _temperature(value)
        if code:
            yield _Raw(index, index + 1, code, value=value)


def _candidates(doc: Document) -> tuple[list[_Raw], frozenset[str]]:
    """Every red-flag match not cancelled by slang, and the signs present in the message."""
    by_role: dict[str, list[Match[Cue]]] = {"flag": [], "exclude": [], "sign": [], "reading": []}
    for match in doc.cues:
        by_role[match.payload.role].append(match)
    found = [_Raw(m.start, m.end, m.payload.name, m.payload.other) for m in by_role["flag"]]
    readings = by_role["reading"]
    found += [r for m in readings for r in _reading(doc, m)]
    found += _bare_temperatures(doc, readings)
    excluded = [(m.start, m.end, m.payload.name) for m in by_role["exclude"]]
    kept = [
        r
        for r in found
        if not any(code == r.code and s < r.end and r.start < e for s, e, code in excluded)
    ]
    return kept, frozenset(m.payload.name for m in by_role["sign"])


def _covers(outer: _Raw, inner: _Raw, flags: Mapping[str, RedFlag]) -> bool:
    """Whether ``outer`` makes ``inner`` redundant: it holds it and is more specific."""
    if outer.code == inner.code or not (outer.start <= inner.start and inner.end <= outer.end):
        return False
    if inner.code in flags[outer.code].overrides:
        return True
    larger = (outer.start, outer.end) != (inner.start, inner.end)
    return larger and flags[outer.code].severity >= flags[inner.code].severity


def _resolve(found: list[_Raw], flags: Mapping[str, RedFlag]) -> list[_Raw]:
    """Drops matches held by a more specific one, then repeats of one code on the same words."""
    kept = [r for r in found if not any(_covers(o, r, flags) for o in found)]
    kept.sort(key=lambda r: (r.start, -(r.end - r.start)))
    result: list[_Raw] = []
    for raw in kept:
        if any(k.code == raw.code and k.start < raw.end and raw.start < k.end for k in result):
            continue
        result.append(raw)
    return result


def _base_severity(flag: RedFlag, signs: frozenset[str]) -> Severity:
    for severity, needed in flag.upgrades:
        if severity > flag.severity and needed & signs:
            return severity
    return flag.severity


def _graded(flag: RedFlag, ctx: ContextFlags, base: Severity) -> tuple[Severity, str]:
    """Severity and patient response after context, in CLINICAL §2 policy order."""
    if ctx.negated:
        return Severity.NONE, ""
    if ctx.hypothetical and "hypothetical" not in flag.ignore:
        return Severity.NONE, "guidance"
    if ctx.historical and "historical" not in flag.ignore:
        return Severity.ROUTINE, ""
    response = flag.response or ("emergency" if base == Severity.EMERGENCY else "")
    if ctx.experiencer == "other":
        if base == Severity.EMERGENCY or response in {"emergency", "crisis"}:
            return Severity.URGENT, "emergency_other"
        return min(base, Severity.ROUTINE), ""
    return base, response


_NOTES = (("negated", "denied"), ("hypothetical", "asked about"), ("historical", "past or over"))


def _explanation(flag: RedFlag, ctx: ContextFlags) -> str:
    notes = [note for name, note in _NOTES if getattr(ctx, name)]
    if ctx.experiencer == "other":
        notes.append("someone else")
    suffix = f" ({', '.join(notes)})" if notes else ""
    return f"Red flag in the patient's message: {flag.label}{suffix}"


def _finding(doc: Document, raw: _Raw, flag: RedFlag, signs: frozenset[str]) -> Finding:
    ctx = assess_tokens(doc, raw.start, raw.end, event=flag.event, jokes="joke" not in flag.ignore)
    if raw.other:
        ctx = replace(ctx, experiencer="other")
    severity, response = _graded(flag, ctx, _base_severity(flag, signs))
    span = (doc.tokens[raw.start].start, doc.tokens[raw.end - 1].end)
    extra = {"code": flag.code, "label": flag.label, "language": doc.language}
    if flag.advice:
        extra["advice"] = flag.advice
    return Finding(
        rule_id=f"redflag.{flag.code}",
        severity=severity,
        explanation=_explanation(flag, ctx),
        category=flag.category,
        value=raw.value,
        span=span,
        text=doc.text[span[0] : span[1]],
        sensitive=flag.sensitive,
        response=response,
        negated=ctx.negated,
        historical=ctx.historical,
        hypothetical=ctx.hypothetical,
        experiencer=ctx.experiencer,
        extra=extra,
    )


def screen(text: str, language: str = "auto") -> list[Finding]:
    """Every red flag in a message, in text order, each graded in its context.

    ``language`` is ``auto`` (detected per message), ``en`` or ``es``: it picks the context
    triggers; the vocabulary of both languages is always searched, since patients mix them.
    Denied findings are included (``negated``, severity NONE): callers that alert skip them.
    """
    doc = parse(text, language)
    lexicon = redflag_lexicon()
    candidates, signs = _candidates(doc)
    found = _resolve(candidates, lexicon.flags)
    return [_finding(doc, raw, lexicon.flags[raw.code], signs) for raw in found]


def severity_of(findings: Iterable[Finding]) -> Severity:
    """The most serious severity among findings (NONE for none or only denied ones)."""
    return max((f.severity for f in findings), default=Severity.NONE)
