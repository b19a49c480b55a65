"""Keywords any message may carry: opt-out, opt-in and help (CLINICAL §4)."""

from __future__ import annotations

import re
import unicodedata
from enum import Enum


class Keyword(Enum):
    STOP = "stop"
    START = "start"
    HELP = "help"


_STOP_WORDS = frozenset(
    "stop stopall unsubscribe cancel end quit revoke optout parar alto cancelar baja".split()
)
_START_WORDS = frozenset("start unstop yes".split())
_HELP_WORDS = frozenset("help info ayuda".split())
# Words that may stand beside a keyword without changing its meaning ("STOP PLEASE").
_FILLER = frozenset(
    "please pls plz now thanks thank thx you it all messages message texts text me "
    "por favor ya gracias mensajes todo".split()
)
_OPT_OUT_PHRASES = [
    re.compile(p)
    for p in (
        r"\b(stop|quit|cease)\s+(texting|messaging|sending|contacting|calling|txting)\b",
        r"\b(dont|do not|never)\s+(text|txt|message|msg|contact|call|send)\s+me\b",
        r"\bno\s+more\s+(texts?|messages?|msgs|texting|calls)\b",
        r"\bstop\s+(the|these|those|your|all|all the|sending)\s+(texts?|messages?|msgs|calls)\b",
        r"\b(take|remove)\s+me\s+off\b",
        r"\bunsubscribe\b",
        r"\bopt\s*out\b",
        r"\bno\s+(me\s+)?(mande|manden|envie|envien|escriba|escriban)\w*\s+(mas\s+)?mensajes\b",
        r"\bno\s+mas\s+mensajes\b",
        r"\b(deje|dejen)\s+de\s+(escribirme|enviarme|mandarme|llamarme|mandar|enviar)\b",
        r"\bya\s+no\s+(me\s+)?(escriban|escriba|manden|mande|envien|envie)\b",
    )
]


def normalise(message: str) -> str:
    """Lower case, accents removed, punctuation turned into spaces."""
    decomposed = unicodedata.normalize("NFKD", message.lower())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = plain.replace("’", "'")
    return re.sub(r"[^\w' ]+", " ", plain).strip()


def classify(message: str, *, opted_out: bool = False) -> Keyword | None:
    """The keyword a message is, if any.

    A keyword is the message alone or with filler words ("STOP PLEASE"); an opt-out may also be
    a sentence about the messages themselves ("please stop texting me") — never "bleeding that
    won't stop" or "I stopped my pills". YES opts in only after a stop (else it is an answer).
    """
    words = normalise(message).replace("'", "").split()
    if not words:
        return None
    core = [w for w in words if w not in _FILLER] or words[:1]
    if len(core) == 1:
        word = core[0]
        if word in _STOP_WORDS:
            return Keyword.STOP
        if word in _HELP_WORDS:
            return Keyword.HELP
        if word in _START_WORDS and (word != "yes" or opted_out):
            return Keyword.START
    if len(core) == 2 and core[0] == "opt" and core[1] == "out":
        return Keyword.STOP
    return Keyword.STOP if is_opt_out_sentence(message) else None


def is_opt_out_sentence(message: str) -> bool:
    """A sentence asking us to stop messaging ("please stop texting me", "no más mensajes")."""
    plain = normalise(message).replace("'", "")
    return any(p.search(plain) for p in _OPT_OUT_PHRASES)


# Twilio's default opt-out keywords: a message that is exactly one of these is answered by
# Twilio itself when Advanced Opt-Out manages STOP (TWILIO_OPT_OUT_MANAGED).
PROVIDER_OPT_OUT_WORDS = frozenset(
    ["stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"]
)


def provider_handles_opt_out(message: str) -> bool:
    """Whether Twilio's own opt-out handling catches this message (one keyword, alone)."""
    return normalise(message).replace(" ", "") in PROVIDER_OPT_OUT_WORDS
