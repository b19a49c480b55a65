"""Triage vocabulary: the trigger and red-flag data files, compiled once into token patterns."""

# Patterns are matched against a message's normalised tokens (lower case, no apostrophes, no
# accents), written as one space-separated "key string". The pattern language of data/*.yaml:
#   chest            a word;  pain|ache  one of several words;  breath*  a word starting so
#   {can not, cant}  one of several word sequences; a trailing ? makes an element optional
#   ~3               up to three other words (never across a sentence end or a denial)
#   <num>            a number;  $  the end of a sentence;  !about|by  the next word is not one
#   @name            the file's macro "name"

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from typing import Any, Generic, TypeVar

import yaml

from outreach.findings import Severity

LANGUAGES = ("en", "es")
NUMBER_KEY = "<num>"
BREAK_KEY = "|"

# "sí" (yes) / "si" (if) and "él" (he) / "el" (the) differ only by the accent; every other
# accent is optional in texts.
_ACCENT_KEPT = {"sí": "sí", "él": "él"}
_APOSTROPHES = str.maketrans("", "", "'’`´")
_PATTERN_TOKEN = re.compile(r"\{|\}\??|,|[^\s{},]+")
_MACRO = re.compile(r"@([a-z_]+)")

P = TypeVar("P")
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser when built


@lru_cache(maxsize=32768)
def fold(word: str) -> str:
    """The matching key of a word: lower case, without apostrophes or accents."""
    lowered = word.lower().translate(_APOSTROPHES)
    if lowered in _ACCENT_KEPT:
        return _ACCENT_KEPT[lowered]
    decomposed = unicodedata.normalize("NFD", lowered)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@dataclass(frozen=True, slots=True)
class Pattern(Generic[P]):
    """One compiled pattern and what it stands for."""

    source: str
    regex: re.Pattern[str]
    payload: P
    words: frozenset[str]
    anchors: frozenset[str] | None  # None: may start with any token, always tried


@dataclass(frozen=True, slots=True)
class Match(Generic[P]):
    """Where a pattern matched, in token indices (end exclusive)."""

    start: int
    end: int
    payload: P


class _Compiler:
    """Turns the pattern language into a regex over a key string, and finds its anchors."""

    def __init__(self, text: str, gap_stop: Iterable[str]) -> None:
        self.items = _PATTERN_TOKEN.findall(text)
        self.pos = 0
        self.words: set[str] = set()
        self.required: list[set[str]] = []  # word sets of top-level elements that must match
        stop = sorted({fold(w) for w in gap_stop}, key=len, reverse=True)
        guard = f"(?!(?:{'|'.join(map(re.escape, stop))}) )" if stop else ""
        self.gap_token = rf"{guard}[^ |]+ "

    def compile(self) -> tuple[str, frozenset[str] | None]:
        regex, first, nullable = self._sequence(top=True)
        if self.pos != len(self.items):
            raise ValueError(f"unbalanced braces near {self.items[self.pos]!r}")
        options = [*self.required, *([] if nullable or first is None else [first])]
        if not options:
            return regex, None
        # any required element will do as the prefilter: take the one least likely in a message
        return regex, frozenset(min(options, key=_commonness))

    def _sequence(self, top: bool) -> tuple[str, set[str] | None, bool]:
        parts: list[str] = []
        first: set[str] | None = set()
        nullable = True
        while self.pos < len(self.items):
            item = self.items[self.pos]
            if item in {",", "}", "}?"}:
                if top:
                    raise ValueError(f"unexpected {item!r}")
                break
            self.pos += 1
            regex, elem_first, elem_nullable = self._element(item)
            parts.append(regex)
            if top and elem_first and not elem_nullable:
                self.required.append(elem_first)
            if nullable and first is not None:
                first = None if elem_first is None else first | elem_first
                nullable = elem_nullable
        return "".join(parts), first, nullable

    def _element(self, item: str) -> tuple[str, set[str] | None, bool]:
        if item == "{":
            return self._group()
        if re.fullmatch(r"~\d+", item):
            # a gap may swallow the first word, so a pattern opening with one has no anchor
            return f"(?:{self.gap_token}){{0,{item[1:]}}}?", None, True
        if item == "$":
            return r"(?=\| |$)", set(), True
        if item.startswith("!"):
            alts = "|".join(re.escape(fold(w)) for w in item[1:].split("|"))
            return f"(?!(?:{alts}) )", set(), True
        optional = item.endswith("?") and len(item) > 1
        body = item[:-1] if optional else item
        first: set[str] | None = {NUMBER_KEY}
        if body == NUMBER_KEY:
            regex = r"\d+(?:\.\d+)? "
        else:
            regex, first = self._words(body)
        return (f"(?:{regex})?" if optional else regex), first, optional

    def _words(self, body: str) -> tuple[str, set[str] | None]:
        alts: list[str] = []
        first: set[str] | None = set()
        for raw in body.split("|"):
            if raw.endswith("*"):
                stem = fold(raw[:-1])
                alts.append(re.escape(stem) + r"[^ |]*")
                first = None
            else:
                word = fold(raw)
                self.words.add(word)
                alts.append(re.escape(word))
                if first is not None:
                    first.add(word)
        alts.sort(key=len, reverse=True)
        return f"(?:{'|'.join(alts)}) ", first

    def _group(self) -> tuple[str, set[str] | None, bool]:
        alternatives: list[str] = []
        first: set[str] | None = set()
        nullable = False
        while True:
            regex, alt_first, alt_nullable = self._sequence(top=False)
            alternatives.append(regex)
            first = None if first is None or alt_first is None else first | alt_first
            nullable = nullable or alt_nullable
            if self.pos >= len(self.items):
                raise ValueError("unclosed brace")
            closer = self.items[self.pos]
            self.pos += 1
            if closer == ",":
                continue
            optional = closer == "}?"
            # longest first: regex alternation takes the first that fits, we want the most words
            alternatives.sort(key=len, reverse=True)
            group = f"(?:{'|'.join(alternatives)})" + ("?" if optional else "")
            return group, first, nullable or optional


# Words found in most messages: a pattern is indexed under a rarer word it requires.
_COMMON = frozenset(
    """i my me the a an to of in on at is it and or no not im ive have has had do dont
    be am are was he she his her we you your for with this that so very really
    el la los las de del y en un una no mi me se le lo que con por para es ya muy tengo""".split()
)


def _commonness(words: Iterable[str]) -> int:
    return sum(100 if w in _COMMON or w == NUMBER_KEY else 1 for w in words)


def expand(text: str, macros: Mapping[str, str]) -> str:
    """Replaces ``@name`` by the macro's text (macros may use earlier macros)."""
    for _ in range(4):
        expanded = _MACRO.sub(lambda m: macros[m.group(1)], text)
        if expanded == text:
            return expanded
        text = expanded
    return text


def _macros(data: Mapping[str, Any]) -> dict[str, str]:
    """A file's macros, with the line breaks of long word lists ("a|b|\n c") closed up."""
    return {
        str(k): re.sub(r"\|\s+", "|", " ".join(str(v).split()))
        for k, v in (data.get("macros") or {}).items()
    }


def compile_pattern(
    text: str, payload: P, macros: Mapping[str, str] | None = None, gap_stop: Iterable[str] = ()
) -> Pattern[P]:
    """Compiles one pattern; raises ValueError on a malformed one."""
    source = expand(text, macros or {})
    compiler = _Compiler(source, gap_stop)
    regex, anchors = compiler.compile()
    if not regex:
        raise ValueError(f"empty pattern {text!r}")
    return Pattern(
        source=text,
        regex=re.compile("(?<= )" + regex),
        payload=payload,
        words=frozenset(compiler.words),
        anchors=anchors,
    )


@dataclass(frozen=True, slots=True)
class KeyedText:
    """A message's token keys as one string, with the maps from offsets to token indices."""

    keys: tuple[str, ...]
    string: str
    key_set: frozenset[str]
    starts: Mapping[int, int]
    ends: Mapping[int, int]

    @classmethod
    def of(cls, keys: Sequence[str]) -> KeyedText:
        starts: dict[int, int] = {}
        ends: dict[int, int] = {}
        offset = 1
        for index, key in enumerate(keys):
            starts[offset] = index
            offset += len(key) + 1
            ends[offset] = index + 1
        present = set(keys)
        if any(k[:1].isdigit() for k in keys):
            present.add(NUMBER_KEY)
        return cls(tuple(keys), " " + " ".join(keys) + " ", frozenset(present), starts, ends)


@dataclass(slots=True)
class PatternSet(Generic[P]):
    """Patterns indexed by the words they can start with, so a message tries only a few."""

    patterns: list[Pattern[P]] = field(default_factory=list)
    index: dict[str, list[int]] = field(default_factory=dict)
    unanchored: list[int] = field(default_factory=list)

    def add(self, pattern: Pattern[P]) -> None:
        number = len(self.patterns)
        self.patterns.append(pattern)
        if pattern.anchors is None:
            self.unanchored.append(number)
            return
        for word in pattern.anchors:
            self.index.setdefault(word, []).append(number)

    @property
    def words(self) -> frozenset[str]:
        return frozenset(w for p in self.patterns for w in p.words)

    def find(self, text: KeyedText) -> Iterator[Match[P]]:
        """Every match of every pattern (patterns may overlap each other)."""
        chosen: set[int] = set(self.unanchored)
        index = self.index
        for key in text.key_set:
            found = index.get(key)
            if found:
                chosen.update(found)
        for number in chosen:
            pattern = self.patterns[number]
            for m in pattern.regex.finditer(text.string):
                if m.end() > m.start():
                    yield Match(text.starts[m.start()], text.ends[m.end()], pattern.payload)


@cache
def load_data(name: str) -> dict[str, Any]:
    """One YAML file of ``outreach/triage/data``, parsed once."""
    raw = resources.files("outreach.triage").joinpath("data", name).read_text(encoding="utf-8")
    data = yaml.load(raw, Loader=_YAML_LOADER)
    if not isinstance(data, dict):
        raise ValueError(f"{name}: expected a mapping at the top")
    return data


def string_list(data: Mapping[str, Any], key: str) -> list[str]:
    """A list of strings from a data file (empty when the key is absent)."""
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key}: expected a list of strings")
    return list(value)


def gap_stop_words() -> frozenset[str]:
    """Words a ``~N`` gap never crosses (denials, "but"), from every context file."""
    return frozenset(
        fold(w)
        for lang in LANGUAGES
        for w in string_list(load_data(f"context_{lang}.yaml"), "gap_stop")
    )


# --- context triggers -------------------------------------------------------------------------

TRIGGER_KINDS = ("negation", "resolution", "historical", "hypothetical", "experiencer")
STRUCTURE_KINDS = ("pseudo", "termination", "present", "recurrence", "negation_cancel", "novelty")
_WORD_LISTS = ("and_words", "backward_termination", "assertion", "answer_words")


@dataclass(frozen=True, slots=True)
class Trigger:
    """What a matched trigger phrase does: its kind, direction, reach and tags."""

    kind: str
    forward: bool
    window: int
    tags: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ContextLexicon:
    """The compiled trigger set of one language."""

    language: str
    triggers: PatternSet[Trigger]
    word_lists: Mapping[str, frozenset[str]]
    question_cues: PatternSet[str]
    window: int
    backward_window: int
    recurrence_window: int

    def words(self, name: str) -> frozenset[str]:
        return self.word_lists[name]


def _trigger_of(kind: str, section: str, data: Mapping[str, Any]) -> Trigger:
    direction, *tags = section.split("_")
    if direction not in {"forward", "backward"}:
        raise ValueError(f"{kind}.{section}: expected forward_* or backward_*")
    if "short" in tags:
        window = int(data["short_window"])
    elif "list" in tags:
        window = int(data["list_window"])
    elif "adjacent" in tags:
        window = 0
    else:
        window = int(data["window" if direction == "forward" else "backward_window"])
    return Trigger(kind, direction == "forward", window, frozenset(tags))


def _structure_triggers(data: Mapping[str, Any]) -> Iterator[tuple[str, Trigger]]:
    recurrence = Trigger("recurrence", False, int(data["recurrence_window"]))
    fixed = {
        "pseudo": Trigger("pseudo", True, 0),
        "termination": Trigger("termination", True, 0),
        "present": Trigger("present", True, int(data["window"])),
        "recurrence": recurrence,
        "negation_cancel": Trigger("negation_cancel", False, int(data["backward_window"])),
        "novelty": Trigger("novelty", False, int(data["backward_window"])),
    }
    for kind, trigger in fixed.items():
        for text in string_list(data, kind):
            yield text, trigger


def _context_triggers(data: Mapping[str, Any]) -> Iterator[tuple[str, Trigger]]:
    for kind in TRIGGER_KINDS:
        sections = data.get(kind) or {}
        for section in sections:
            trigger = _trigger_of(kind, section, data)
            for text in string_list(sections, section):
                yield text, trigger
    yield from _structure_triggers(data)


@cache
def context_lexicon(language: str) -> ContextLexicon:
    """The trigger set of ``language`` (``en`` or ``es``), compiled once."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}")
    data = load_data(f"context_{language}.yaml")
    macros = _macros(data)
    triggers: PatternSet[Trigger] = PatternSet()
    for text, trigger in _context_triggers(data):
        triggers.add(compile_pattern(text, trigger, macros))
    cues: PatternSet[str] = PatternSet()
    for text in string_list(data, "question_cues"):
        cues.add(compile_pattern(text, text, macros))
    return ContextLexicon(
        language=language,
        triggers=triggers,
        word_lists={name: frozenset(map(fold, string_list(data, name))) for name in _WORD_LISTS},
        question_cues=cues,
        window=int(data["window"]),
        backward_window=int(data["backward_window"]),
        recurrence_window=int(data["recurrence_window"]),
    )


# --- red flags ----------------------------------------------------------------------------------

_FLAG_FIELDS = ("label", "severity", "sensitive", "response", "advice", "event", "ignore")


@dataclass(frozen=True, slots=True)
class RedFlag:
    """One entry of the red-flag vocabulary (CLINICAL §2)."""

    code: str
    category: str
    label: str
    severity: Severity
    sensitive: bool = False
    response: str = ""
    advice: str = ""  # extra instruction: "note_time" (stroke), "poison_control" (overdose)
    event: bool = False  # told in the past tense by nature ("I passed out"): recent past is now
    ignore: frozenset[str] = frozenset()  # context flags that do not lower it ("hypothetical")
    upgrades: tuple[tuple[Severity, frozenset[str]], ...] = ()  # raised to it if any sign is there
    overrides: frozenset[str] = frozenset()  # codes whose matches inside this one are dropped


@dataclass(frozen=True, slots=True)
class Cue:
    """What a vocabulary pattern found: a red flag (``flag``, its code, and whether its words
    name someone else), slang that cancels one (``exclude``), a sign that raises one (``sign``)
    or a number to read (``reading``, its kind)."""

    role: str
    name: str
    other: bool = False


@dataclass(frozen=True, slots=True)
class RedFlagLexicon:
    """The red-flag vocabulary of every language, compiled once."""

    flags: Mapping[str, RedFlag]
    cues: PatternSet[Cue]  # every role in one set: a message is searched once
    speller: Speller


def _flag_of(code: str, entry: Mapping[str, Any], category: Mapping[str, Any]) -> RedFlag:
    merged = {**category, **entry}
    upgrades = tuple(
        (Severity.parse(level), frozenset([signs] if isinstance(signs, str) else signs))
        for level, signs in (merged.get("upgrade") or {}).items()
    )
    return RedFlag(
        code=code,
        category=code.split(".", 1)[0],
        label=str(merged["label"]),
        severity=Severity.parse(str(merged["severity"])),
        sensitive=bool(merged.get("sensitive", False)),
        response=str(merged.get("response", "")),
        advice=str(merged.get("advice", "")),
        event=bool(merged.get("event", False)),
        ignore=frozenset(merged.get("ignore") or ()),
        upgrades=tuple(sorted(upgrades, key=lambda u: u[0], reverse=True)),
        overrides=frozenset(merged.get("overrides") or ()),
    )


def _key(field_name: str) -> str:
    return {"upgrades": "upgrade"}.get(field_name, field_name)


class _RedFlagBuilder:
    """Accumulates the red-flag files of every language into one lexicon."""

    def __init__(self) -> None:
        self.flags: dict[str, RedFlag] = {}
        self.cues: PatternSet[Cue] = PatternSet()
        self.protected: set[str] = set()
        self.gap_stop = gap_stop_words()

    def add_file(self, data: Mapping[str, Any]) -> None:
        macros = _macros(data)
        categories = data.get("categories") or {}
        for entry in data.get("flags") or []:
            self._add_flag(entry, categories, macros)
        for name, texts in (data.get("signs") or {}).items():
            for text in texts:
                self.cues.add(self._compile(text, Cue("sign", str(name)), macros))
        for kind, texts in (data.get("readings") or {}).items():
            for text in texts:
                self.cues.add(self._compile(text, Cue("reading", str(kind)), macros))
        self.protected.update(fold(w) for w in string_list(data, "protected"))

    def _compile(self, text: str, payload: P, macros: Mapping[str, str]) -> Pattern[P]:
        try:
            return compile_pattern(text, payload, macros, self.gap_stop)
        except (KeyError, ValueError, re.error) as exc:
            raise ValueError(f"bad pattern {text!r}: {exc}") from exc

    def _add_flag(
        self, entry: Mapping[str, Any], categories: Mapping[str, Any], macros: Mapping[str, str]
    ) -> None:
        code = str(entry["code"])
        flag = _flag_of(code, entry, categories.get(code.split(".", 1)[0]) or {})
        known = self.flags.setdefault(code, flag)
        # a second file may leave out the upgrades and overrides; what it states must agree
        fields = [*_FLAG_FIELDS, *(f for f in ("upgrades", "overrides") if _key(f) in entry)]
        if any(getattr(known, f) != getattr(flag, f) for f in fields):
            raise ValueError(f"{code}: defined differently in two red-flag files")
        for text in string_list(entry, "patterns"):
            self.cues.add(self._compile(text, Cue("flag", code), macros))
        for text in string_list(entry, "other"):
            self.cues.add(self._compile(text, Cue("flag", code, other=True), macros))
        for text in string_list(entry, "exclude"):
            self.cues.add(self._compile(text, Cue("exclude", code), macros))

    def build(self) -> RedFlagLexicon:
        known = set(self.cues.words)
        for language in LANGUAGES:
            known |= context_lexicon(language).triggers.words
        content = (p.words for p in self.cues.patterns if p.payload.role in {"flag", "sign"})
        targets = {w for words in content for w in words if len(w) >= _FUZZY_MIN}
        speller = Speller(frozenset(known), frozenset(targets), frozenset(self.protected))
        return RedFlagLexicon(self.flags, self.cues, speller)


@cache
def redflag_lexicon() -> RedFlagLexicon:
    """The red-flag vocabulary of all languages (texts mix them), compiled once."""
    builder = _RedFlagBuilder()
    for language in LANGUAGES:
        builder.add_file(load_data(f"redflags_{language}.yaml"))
    return builder.build()


# --- misspellings -------------------------------------------------------------------------------

_FUZZY_MIN = 5


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def within_one_edit(a: str, b: str) -> bool:
    """Optimal string alignment distance ≤ 1 (one insertion, deletion, change or swap)."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        i, j = diff[0], diff[-1]
        return len(diff) == 2 and j == i + 1 and a[i] == b[j] and a[j] == b[i]
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


class Speller:
    """Corrects a misspelt word to the one vocabulary word one edit away ("chesst" → "chest").

    Only words of five letters or more are corrected, only to words with the same first letter,
    and never a real word of English or Spanish ("painted" is not "fainted"): those are listed
    in the red-flag files' ``protected`` lists.
    """

    def __init__(self, known: frozenset[str], targets: frozenset[str], protected: frozenset[str]):
        self.known = known
        self.protected = protected
        index: dict[str, set[str]] = {}
        for word in targets:
            for variant in _deletions(word) | {word}:
                index.setdefault(variant, set()).add(word)
        # tuples of strings are not tracked by the garbage collector; thousands of sets would be
        self.index = {variant: tuple(sorted(words)) for variant, words in index.items()}
        self.correct = lru_cache(maxsize=65536)(self._correct)

    def _correct(self, word: str) -> str:
        if word in self.known or len(word) < _FUZZY_MIN or word in self.protected:
            return word
        if not word.isalpha():
            return word
        found: set[str] = set()
        for variant in _deletions(word) | {word}:
            found.update(self.index.get(variant, ()))
        matches = sorted(w for w in found if w[0] == word[0] and within_one_edit(w, word))
        return matches[0] if matches else word
