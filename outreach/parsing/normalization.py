"""Text folding for matching replies: lower case, no accents, single spaces."""

from __future__ import annotations

import re
import unicodedata

_SKIN_TONES = re.compile("[\U0001f3fb-\U0001f3ff\ufe0f\u200d]")
_SPACES = re.compile(r"\s+")
_RUNS = re.compile(r"([a-z])\1+")


def fold(text: str) -> str:
    """Lower-case ``text``, drop accents and emoji modifiers, and collapse whitespace."""
    text = _SKIN_TONES.sub("", text)
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", bare).strip()


def words(text: str) -> list[str]:
    """The folded words of ``text``: letters and digits, apostrophes dropped ("don't" → "dont")."""
    folded = fold(text).replace("'", "").replace("’", "")
    return [w for w in re.split(r"[^a-z0-9]+", folded) if w]


def squeeze(word: str) -> str:
    """Collapse repeated letters ("yesss" → "yes", "nooo" → "no") for lenient word matching."""
    return _RUNS.sub(r"\1", word)
