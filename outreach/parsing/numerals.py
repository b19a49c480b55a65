"""Numbers as people type them: digits ("6.5", "82,5"), words ("seven", "veinticinco"), "7/10"."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Final

from outreach.parsing.normalization import fold

_TOKEN = re.compile(
    r"(?<![a-z0-9.,])-?\d{1,3}(?:,\d{3})+(?![\d.,])|(?<![a-z0-9.,])-?\d+(?:[.,]\d+)?"
    r"|\d+(?:[.,]\d+)?|[a-z]+|/|#"
)
"""A minus sign counts only before a number that starts a word ("-1"), not in "6-7"."""

_SMALL: Final[dict[str, int]] = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
    "cero": 0, "uno": 1, "un": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5,
    "seis": 6, "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "doce": 12, "trece": 13,
    "catorce": 14, "quince": 15, "dieciseis": 16, "diecisiete": 17, "dieciocho": 18,
    "diecinueve": 19, "veintiuno": 21, "veintiun": 21, "veintiuna": 21, "veintidos": 22,
    "veintitres": 23, "veinticuatro": 24, "veinticinco": 25, "veintiseis": 26,
    "veintisiete": 27, "veintiocho": 28, "veintinueve": 29,
}  # fmt: skip
_TENS: Final[dict[str, int]] = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
    "veinte": 20, "treinta": 30, "cuarenta": 40, "cincuenta": 50, "sesenta": 60,
    "setenta": 70, "ochenta": 80, "noventa": 90,
}  # fmt: skip
_HUNDREDS: Final[dict[str, int]] = {
    "cien": 100, "ciento": 100, "doscientos": 200, "trescientos": 300,
    "cuatrocientos": 400, "quinientos": 500, "seiscientos": 600, "setecientos": 700,
    "ochocientos": 800, "novecientos": 900,
}  # fmt: skip
_WEAK: Final = frozenset({"un", "una"})
"""Spanish articles that are also "one": dropped when the reply holds another number."""
_FRACTION_MARKS: Final = (("/",), ("out", "of"), ("of",), ("de",), ("sobre",))
_HALF: Final = (("and", "a", "half"), ("y", "medio"), ("y", "media"))
_ZERO_PHRASES: Final = frozenset(
    {
        "no", "none", "nope", "never", "nothing", "no days", "not any", "not one", "none at all",
        "no pain", "zero days", "nada", "ninguno", "ninguna", "ningun", "ningun dia", "nunca",
        "sin dolor", "ni uno", "ni un dia",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Numeral:
    value: float
    start: int
    end: int
    weak: bool = False


def tokens(text: str) -> list[str]:
    """Number-aware tokens of the folded text: "82,5kg" → ["82,5", "kg"]."""
    return _TOKEN.findall(fold(text))


def read_number(
    text: str,
    language: str,
    *,
    denominator: float | None = None,
    zero_words: bool = False,
    articles: bool = True,
) -> float | None:
    """The one number in ``text``, or None when there is none or more than one.

    ``denominator`` drops the "10" of "7/10" or "7 out of 10". With ``zero_words``, a reply
    that is only "none", "nada", "no pain"… reads as 0. Without ``articles``, a lone "un"/"una"
    is not read as 1.
    """
    toks = tokens(text)
    found = _numerals(toks, language, denominator)
    values = {n.value for n in found if articles or not n.weak}
    if len(values) == 1:
        return values.pop()
    if not values and zero_words and " ".join(toks) in _ZERO_PHRASES:
        return 0.0
    return None


def _numerals(toks: list[str], language: str, denominator: float | None) -> list[_Numeral]:
    found = _digit_numerals(toks) + _word_numerals(toks, language)
    found.sort(key=lambda n: n.start)
    found = _drop_denominators(toks, found, denominator)
    if any(not n.weak for n in found):
        found = [n for n in found if not n.weak]
    return found


def _digit_numerals(toks: list[str]) -> list[_Numeral]:
    found = []
    for index, tok in enumerate(toks):
        if tok[0].isdigit() or tok[0] == "-":
            value = _digit_value(tok)
            half = _half_at(toks, index + 1)
            if half:
                value += 0.5
            found.append(_Numeral(value, index, index + 1 + len(half)))
    return found


def _digit_value(tok: str) -> float:
    if re.fullmatch(r"-?\d{1,3}(?:,\d{3})+", tok):
        return float(tok.replace(",", ""))
    return float(tok.replace(",", "."))


def _word_numerals(toks: list[str], language: str) -> list[_Numeral]:
    found: list[_Numeral] = []
    index = 0
    while index < len(toks):
        numeral = _word_numeral_at(toks, index, language)
        if numeral is None:
            index += 1
            continue
        found.append(numeral)
        index = numeral.end
    return found


def _word_numeral_at(toks: list[str], start: int, language: str) -> _Numeral | None:
    value: int | None = None
    index = start
    while index < len(toks):
        step = _word_value(toks[index], language)
        if step is None:
            if value is not None and _connects(toks, index, language):
                index += 1
                continue
            break
        combined = _combine(value, step, toks[index])
        if combined is None:
            break
        value, index = combined, index + 1
    if value is None:
        return None
    total = float(value)
    half = _half_at(toks, index)
    if half:
        total, index = total + 0.5, index + len(half)
    weak = index - start == 1 and toks[start] in _WEAK
    return _Numeral(total, start, index, weak)


def _word_value(tok: str, language: str) -> int | None:
    if tok == "once":
        return 11 if language == "es" else 1
    if tok in ("hundred", "hundreds"):
        return 100
    return _SMALL.get(tok, _TENS.get(tok, _HUNDREDS.get(tok)))


def _combine(value: int | None, step: int, tok: str) -> int | None:
    """Add one number word to the number read so far, or None when it starts a new number."""
    if value is None:
        return 100 if tok.startswith("hundred") else step
    if tok.startswith("hundred"):
        return value * 100 if 0 < value < 10 else None
    if tok in _HUNDREDS:
        return None
    if step >= 20 and step % 10 == 0:
        return value + step if value % 100 == 0 else None
    if step >= 10:
        return value + step if value % 100 == 0 else None
    return value + step if value % 10 == 0 and value > 0 else None


def _connects(toks: list[str], index: int, language: str) -> bool:
    """'and' / 'y' joining two number words ("one hundred and five", "treinta y dos")."""
    if toks[index] not in ("and", "y") or index + 1 >= len(toks):
        return False
    return _word_value(toks[index + 1], language) is not None


def _half_at(toks: list[str], index: int) -> tuple[str, ...]:
    for half in _HALF:
        if _matches(toks, index, half):
            return half
    return ()


def _matches(toks: list[str], index: int, phrase: tuple[str, ...]) -> bool:
    return tuple(toks[index : index + len(phrase)]) == phrase


def _drop_denominators(
    toks: list[str], found: list[_Numeral], denominator: float | None
) -> list[_Numeral]:
    if denominator is None:
        return found
    dropped: set[int] = set()
    for first, second in itertools.pairwise(found):
        between = tuple(toks[first.end : second.start])
        if between in _FRACTION_MARKS and second.value == denominator:
            dropped.add(second.start)
    return [n for n in found if n.start not in dropped]
