"""The ConText matcher: whether a finding is denied, over, hypothetical or someone else's."""

# ConText (Harkema 2009, after Chapman's NegEx 2001): a trigger phrase before a finding reaches
# forward, one after it reaches backward, until a termination term, a sentence end or the end of
# its window. Written for texting as much as for clinical notes: no punctuation, missing
# apostrophes ("dont"), Spanish without accents, a bare "no," that answers a question.

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from outreach.triage.language import detect_language
from outreach.triage.lexicon import (
    ContextLexicon,
    Cue,
    KeyedText,
    Match,
    Trigger,
    context_lexicon,
    fold,
    redflag_lexicon,
)

_TOKEN = re.compile(
    r"(?P<num>\d+(?:[.,]\d+)?)"
    r"|(?P<word>[^\W\d_]+(?:['’`´][^\W\d_]+)*)"
    r"|(?P<pause>\.{2,}|…)"
    r"|(?P<brk>[.!?;¡¿]+|\n)"
    r"|(?P<sep>[,:/])"
)
_CONTENT = ("word", "num")
_CANCELS = frozenset({"negation_cancel", "novelty", "present", "recurrence"})


class Token(NamedTuple):
    """A word, number, sentence break or separator, with its character span."""

    key: str
    start: int
    end: int
    kind: str  # word | num | brk | sep


class Hit(NamedTuple):
    """A trigger in force in a message, in token indices (end exclusive)."""

    start: int
    end: int
    trigger: Trigger


@dataclass(frozen=True, slots=True)
class ContextFlags:
    """The four context flags of one finding (CLINICAL §3)."""

    negated: bool = False
    historical: bool = False
    hypothetical: bool = False
    experiencer: str = "patient"


@dataclass(frozen=True, slots=True)
class Document:
    """A message tokenised once: its tokens, red-flag matches and the triggers in force."""

    text: str
    language: str
    tokens: tuple[Token, ...]
    keyed: KeyedText
    cues: tuple[Match[Cue], ...]  # every vocabulary match (red flags, slang, signs, readings)
    hits: tuple[Hit, ...]
    lexicon: ContextLexicon
    free: frozenset[int]  # token indices not covered by any trigger


def tokenize(text: str) -> list[Token]:
    """Tokens with character offsets; misspelt vocabulary words are corrected in their keys."""
    speller = redflag_lexicon().speller
    tokens: list[Token] = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "sep"
        raw = m.group()
        if kind == "word":
            key = speller.correct(fold(raw))
        elif kind == "num":
            key = raw.replace(",", ".")
        elif kind == "brk":
            key = "|"
        else:
            kind, key = "sep", raw if kind == "sep" else ","
        tokens.append(Token(key, m.start(), m.end(), kind))
    return tokens


def parse(text: str, language: str = "auto") -> Document:
    """Tokenises a message and finds its red-flag words and the context triggers in force."""
    lang = detect_language(text) if language == "auto" else language
    lexicon = context_lexicon(lang)
    tokens = tokenize(text)
    keyed = KeyedText.of([t.key for t in tokens])
    cues = tuple(redflag_lexicon().cues.find(keyed))
    flags = [c for c in cues if c.payload.role == "flag"]
    hits = _select(text, lexicon, tokens, keyed, flags)
    covered = {i for h in hits for i in range(h.start, h.end)}
    free = frozenset(i for i in range(len(tokens)) if i not in covered)
    return Document(text, lang, tuple(tokens), keyed, cues, hits, lexicon, free)


def _select(
    text: str,
    lexicon: ContextLexicon,
    tokens: Sequence[Token],
    keyed: KeyedText,
    cues: Sequence[Match[Cue]],
) -> tuple[Hit, ...]:
    """Leftmost-longest triggers; none made only of a red flag's own words ("no puedo respirar"),
    except those that say it is here now ("pain like this in my chest")."""
    candidates = sorted(
        (
            Hit(m.start, m.end, m.payload)
            for m in lexicon.triggers.find(keyed)
            if m.payload.kind in _CANCELS
            or not any(c.start <= m.start and m.end <= c.end for c in cues)
        ),
        key=lambda h: (h.start, -h.end),
    )
    weak = any("weak" in h.trigger.tags for h in candidates)
    asks = weak and _asks(text, lexicon, keyed)
    personal = bool(keyed.key_set & lexicon.words("assertion"))
    chosen: list[Hit] = []
    cursor, span = 0, (-1, -1)
    for hit in candidates:
        if (hit.start, hit.end) == span:  # one phrase may be two kinds ("family history of")
            chosen.append(hit)
        elif hit.start >= cursor:
            chosen.append(hit)
            cursor, span = hit.end, (hit.start, hit.end)
    return tuple(h for h in chosen if _in_force(h, lexicon, tokens, asks, personal))


def _asks(text: str, lexicon: ContextLexicon, keyed: KeyedText) -> bool:
    """Whether the message asks something: a question mark or a cue such as "qué hago"."""
    if "?" in text or "¿" in text:
        return True
    return next(iter(lexicon.question_cues.find(keyed)), None) is not None


def _in_force(
    hit: Hit, lexicon: ContextLexicon, tokens: Sequence[Token], asks: bool, personal: bool
) -> bool:
    """Drops a bare answer word ("no, I have chest pain"), an unasked weak condition, and a
    pronoun in a message not written in the first person."""
    tags = hit.trigger.tags
    if ("weak" in tags and not asks) or ("personal" in tags and not personal):
        return False
    if hit.end - hit.start != 1 or tokens[hit.start].key not in lexicon.words("answer_words"):
        return True
    after = tokens[hit.end] if hit.end < len(tokens) else None
    if after is None or after.kind in {"brk", "sep"}:
        return False
    return not (hit.trigger.kind == "negation" and after.key in lexicon.words("assertion"))


def _words_between(doc: Document, start: int, end: int) -> int:
    return sum(1 for t in doc.tokens[start:end] if t.kind in _CONTENT)


def _breaks_between(doc: Document, start: int, end: int) -> bool:
    return any(t.kind == "brk" for t in doc.tokens[start:end])


def _terminated(doc: Document, start: int, end: int) -> bool:
    return any(h.trigger.kind == "termination" and start <= h.start < end for h in doc.hits)


def _free_word_in(doc: Document, start: int, end: int, words: frozenset[str]) -> bool:
    return any(i in doc.free and doc.tokens[i].key in words for i in range(start, end))


def _and_breaks(doc: Document, start: int, end: int) -> bool:
    """A plain "no" stops at "and" ("no fever and chest pain" reports chest pain), unless the
    words form a list with commas ("no fever, chills and cough")."""
    and_words = doc.lexicon.words("and_words")
    for index in range(start, end):
        if index in doc.free and doc.tokens[index].key in and_words:
            return not any(t.key == "," for t in doc.tokens[start:index])
    return False


def _reaches_forward(doc: Document, hit: Hit, target: int) -> bool:
    """Whether a trigger before a finding (at token ``target``) covers it."""
    start, trigger = min(hit.end, target), hit.trigger
    if _breaks_between(doc, start, target) or _words_between(doc, start, target) > trigger.window:
        return False
    if _terminated(doc, start, target):
        return False
    kind = trigger.kind
    if kind == "negation" and "list" not in trigger.tags and _and_breaks(doc, start, target):
        return False
    # the patient's own clause starting after the trigger ends it: "should I go, my chest hurts"
    if kind in {"negation", "hypothetical", "experiencer"}:
        return not _free_word_in(doc, start + 1, target, doc.lexicon.words("assertion"))
    return True


def _reaches_backward(doc: Document, end: int, hit: Hit, conjunctions: bool = True) -> bool:
    """Whether a trigger after a finding (ending at token ``end``) covers it."""
    if _breaks_between(doc, end, hit.start):
        return False
    if _words_between(doc, end, hit.start) > hit.trigger.window:
        return False
    if _terminated(doc, end, hit.start):
        return False
    stops = doc.lexicon.words("backward_termination")
    return not (conjunctions and _free_word_in(doc, end, hit.start, stops))


def _applying(doc: Document, start: int, end: int) -> Iterable[Hit]:
    """The hits that reach the finding at tokens [start, end)."""
    for hit in doc.hits:
        kind = hit.trigger.kind
        if start <= hit.start < end:
            if kind in _CANCELS:  # "pain like this in my chest"
                yield hit
            continue  # the finding's own words
        if hit.start < start:
            if kind == "recurrence":
                continue
            if (hit.trigger.forward or kind == "present") and _reaches_forward(doc, hit, start):
                yield hit
        elif kind == "recurrence":
            if _words_between(doc, end, hit.start) <= hit.trigger.window:
                yield hit
        elif (not hit.trigger.forward or kind == "present") and _reaches_backward(
            doc, end, hit, conjunctions=kind not in _CANCELS
        ):
            yield hit


def assess_tokens(
    doc: Document, start: int, end: int, event: bool = False, jokes: bool = True
) -> ContextFlags:
    """The context flags of the finding at tokens [start, end) of a parsed message.

    ``event``: a finding told in the past tense by nature (a faint, a fall), for which recent
    past ("had", "this morning") does not make it history. ``jokes``: whether "jk" denies it.
    """
    found: dict[str, list[Hit]] = {}
    for hit in _applying(doc, start, end):
        found.setdefault(hit.trigger.kind, []).append(hit)
    denials = [h for h in found.get("negation", []) if jokes or "joke" not in h.trigger.tags]
    # "never had chest pain like this (before)" tells of chest pain now
    novel = found.get("novelty") and denials and all("never" in h.trigger.tags for h in denials)
    cancelled = bool(denials) and bool(found.get("negation_cancel") or novel)
    if cancelled:
        denials = []
    resolved = any("denied" not in h.trigger.tags or denials for h in found.get("resolution", []))
    past = any(not (event and "recent" in h.trigger.tags) for h in found.get("historical", []))
    current = cancelled or bool(found.get("present") or found.get("recurrence"))
    return ContextFlags(
        negated=bool(denials) and not resolved,
        historical=(resolved or past) and not current,
        hypothetical=bool(found.get("hypothetical")),
        experiencer="other" if found.get("experiencer") else "patient",
    )


def token_range(doc: Document, span: tuple[int, int]) -> tuple[int, int] | None:
    """The tokens [start, end) that a character span touches (None if it holds no word)."""
    inside = [
        i
        for i, t in enumerate(doc.tokens)
        if t.kind in _CONTENT and t.end > span[0] and t.start < span[1]
    ]
    return (inside[0], inside[-1] + 1) if inside else None


def assess_context(
    text: str, term_span: tuple[int, int], language: str = "auto", *, event: bool = False
) -> ContextFlags:
    """The context flags of the words at ``term_span`` (character offsets) in ``text``."""
    doc = parse(text, language)
    tokens = token_range(doc, term_span)
    return ContextFlags() if tokens is None else assess_tokens(doc, *tokens, event=event)


def find_term(text: str, term: str) -> tuple[int, int] | None:
    """The character span of the first occurrence of ``term`` (case, spacing, accents and
    apostrophes tolerated), or None."""
    words = term.split()
    if not words:
        return None
    body = r"\s+".join(map(re.escape, words))
    head = r"(?<!\w)" if re.match(r"\w", words[0]) else ""
    tail = r"(?!\w)" if re.search(r"\w$", words[-1]) else ""
    for pattern in (head + body + tail, body):
        m = re.search(pattern, text, re.IGNORECASE)
        if m:
            return m.start(), m.end()
    return _find_by_keys(text, words)


def _find_by_keys(text: str, words: Sequence[str]) -> tuple[int, int] | None:
    """Matches word by word on folded keys: "cant" finds "can't", "respiracion" "respiración"."""
    wanted = [fold(w) for w in _TOKEN_WORDS.findall(" ".join(words))]
    found = list(_TOKEN_WORDS.finditer(text))
    keys = [fold(m.group()) for m in found]
    if not wanted:
        return None
    for i in range(len(found) - len(wanted) + 1):
        if keys[i : i + len(wanted)] == wanted:
            return found[i].start(), found[i + len(wanted) - 1].end()
    return None


_TOKEN_WORDS = re.compile(r"[^\W_]+(?:['’`´][^\W_]+)*")


def context_of(text: str, term: str, language: str = "auto") -> dict[str, object]:
    """The ``carebot context`` answer for the first occurrence of ``term`` in ``text``."""
    span = find_term(text, term)
    flags = ContextFlags() if span is None else assess_context(text, span, language)
    return {
        "term": term,
        "found": span is not None,
        "negated": flags.negated,
        "historical": flags.historical,
        "hypothetical": flags.hypothetical,
        "experiencer": flags.experiencer,
    }
