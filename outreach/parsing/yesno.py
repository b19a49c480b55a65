"""Yes/no replies in English and Spanish: words, texting forms and emoji."""

from __future__ import annotations

import re
from typing import Final

from outreach.parsing.normalization import squeeze, words

_YES_EMOJI: Final = frozenset("👍👌✅✔☑🆗")
_NO_EMOJI: Final = frozenset("👎❌✖🚫⛔❎")

_YES: Final = (
    "y", "yes", "yeah", "yea", "yah", "yep", "yup", "ye", "sure", "correct", "right", "true",
    "absolutely", "definitely", "of course", "indeed", "affirmative", "i think so",
    "i believe so", "a little", "a bit",
    "kind of", "kinda", "sort of", "somewhat", "sometimes", "once", "twice", "a few times",
    "a couple times", "yes and", "si", "s", "sip", "simon", "claro", "claro que si",
    "por supuesto", "asi es", "correcto", "cierto", "afirmativo", "un poco", "algo",
    "a veces", "una vez", "dos veces", "varias veces", "pues si", "creo que si",
)  # fmt: skip
_NO: Final = (
    "n", "no", "nope", "nop", "nah", "naw", "not", "not really", "no way", "never", "none",
    "not at all", "negative", "i did not", "i didnt", "i have not", "i havent", "i am not",
    "im not", "i do not", "i dont", "i was not", "i wasnt", "i dont think so",
    "nel", "nunca", "para nada", "negativo", "de ninguna manera", "creo que no", "pues no",
    "no tengo", "no he", "ya no",
)  # fmt: skip
_WHOLE_YES: Final = ("i did", "i have", "i am", "im", "i do", "i was", "i will", "tengo", "he")
"""Yes only as the whole reply: "I am" is yes, "I am fine" is not."""
_UNSURE: Final = (
    "no idea", "not sure", "unsure", "dont know", "do not know", "dunno", "idk", "maybe",
    "perhaps", "possibly", "not certain", "cant say", "cannot say", "depends", "yes and no",
    "yes or no", "no se si", "no estoy seguro", "no estoy segura", "tal vez", "quizas", "quiza",
    "a lo mejor", "puede ser", "depende", "no lo se", "si y no", "mas o menos", "no sabria",
)  # fmt: skip
_FILLER: Final = frozenset(
    squeeze(w)
    for w in {"well", "um", "umm", "uh", "uhh", "oh", "hmm", "hm", "ah", "pues", "este", "eh", "ok",
     "okay", "bueno", "mmm", "lol", "haha", "jaja"}
)  # fmt: skip
_UNSURE_SUFFIX: Final = ("no", "se")
"""Spanish "no sé" (I don't know) at the end; "no, se me quitó" at the start is a no."""
_COUNT = re.compile(r"^(\d+) (times|time|x|veces|vez)\b")


def _phrases(entries: tuple[str, ...]) -> list[tuple[str, ...]]:
    return sorted({tuple(squeeze(w) for w in e.split()) for e in entries}, key=len, reverse=True)


_YES_PHRASES: Final = _phrases(_YES)
_NO_PHRASES: Final = _phrases(_NO)
_UNSURE_PHRASES: Final = _phrases(_UNSURE)
_WHOLE_YES_PHRASES: Final = _phrases(_WHOLE_YES)


def read_yes_no(text: str) -> bool | None:
    """True for yes, False for no, None when the reply is neither or is unsure ("no idea")."""
    emoji = _read_emoji(text)
    toks = [squeeze(w) for w in words(text)]
    if all(tok in _FILLER for tok in toks):
        return emoji
    said = _read_words(toks)
    if emoji is None or said == emoji:
        return said
    return None


def sounds_unsure(text: str) -> bool:
    """True for "no idea", "not sure", "no sé", "tal vez"… anywhere in the reply."""
    return _unsure([squeeze(w) for w in words(text)])


def _unsure(toks: list[str]) -> bool:
    return _contains_any(toks, _UNSURE_PHRASES) or tuple(toks[-2:]) == _UNSURE_SUFFIX


def _read_words(toks: list[str]) -> bool | None:
    if _unsure(toks):
        return None
    counted = _read_count(toks)
    if counted is not None:
        return counted
    while len(toks) > 1 and toks[0] in _FILLER:
        toks = toks[1:]
    if tuple(toks) in _WHOLE_YES_PHRASES:
        return True
    return _read_start(toks)


def _read_emoji(text: str) -> bool | None:
    yes = any(ch in _YES_EMOJI for ch in text)
    no = any(ch in _NO_EMOJI for ch in text)
    return None if yes == no else yes


def _read_count(toks: list[str]) -> bool | None:
    match = _COUNT.match(" ".join(toks))
    return None if match is None else int(match.group(1)) > 0


def _read_start(toks: list[str]) -> bool | None:
    yes = _longest_prefix(toks, _YES_PHRASES)
    no = _longest_prefix(toks, _NO_PHRASES)
    if yes == no:
        return None
    return yes > no


def _longest_prefix(toks: list[str], phrases: list[tuple[str, ...]]) -> int:
    for phrase in phrases:
        if tuple(toks[: len(phrase)]) == phrase:
            return len(phrase)
    return 0


def _contains_any(toks: list[str], phrases: list[tuple[str, ...]]) -> bool:
    joined = f" {' '.join(toks)} "
    return any(f" {' '.join(phrase)} " in joined for phrase in phrases)
