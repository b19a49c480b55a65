"""Twilio Voice: check-in calls placed through the twilio library, and the TwiML they answer.

A call is one outbox message (a check-in's opening question or a reminder) to a ``voice:+1…``
address. :class:`TwilioVoice` places it; the call's webhooks (``/webhooks/twilio/voice/…``,
served by ``bot/web/voice.py``) get TwiML built here by :class:`CallScript`. Errors are
translated exactly as for SMS (``handlers.twilio_sms.delivery_error``)::

    HTTP 429, 5xx, 401, timeout, connection error   -> RetryableDeliveryError
    any other 4xx (21211 invalid number, ...)       -> PermanentDeliveryError(code=<Twilio code>)

Keypad: yes = 1, no = 2; choices by ``option_numbers``; a question whose answer may take two
digits (a 0-10 scale, a number) ends with ``#`` instead of after one key. 9 stops the calls on
every one-key prompt where 9 is not an answer; on a ``#`` prompt it is a digit (saying "stop"
works everywhere).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from string import Formatter
from typing import Any, Final
from urllib.parse import urlencode

import aiohttp
import phonenumbers
from twilio.base.exceptions import TwilioException
from twilio.twiml.voice_response import VoiceResponse

from handlers.twilio_sms import TwilioSms, delivery_error, phone_of
from outreach.conversation.render import option_numbers
from outreach.errors import PermanentDeliveryError
from outreach.ports import OutboundMessage, SendResult
from outreach.programs.model import Question

log = logging.getLogger(__name__)

VOICE_PATH = "/webhooks/twilio/voice"
ANSWER_PATH = VOICE_PATH + "/answer"
IDENTITY_PATH = VOICE_PATH + "/identity"
GATHER_PATH = VOICE_PATH + "/gather"
STATUS_PATH = VOICE_PATH + "/status"
CONFIRM_KEY = "1"
STOP_KEY = "9"
STOP_WORD = "STOP"
MACHINE_ANSWERS: Final = frozenset(
    {"machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax"}
)
CALL_EVENTS: Final = ("initiated", "ringing", "answered", "completed")
# A call's status as a contact-log status (storage.repositories.messages.STATUS_RANK).
CALL_STATUS: Final = {
    "queued": "queued",
    "initiated": "queued",
    "ringing": "sending",
    "in-progress": "sent",
    "answered": "sent",
    "completed": "delivered",
    "busy": "undelivered",
    "no-answer": "undelivered",
    "canceled": "undelivered",
    "failed": "failed",
}
_OUTBOX_KEY = re.compile(r"^outbox:(\d+)$")
_TRANSLATED = (TwilioException, TimeoutError, aiohttp.ClientError, OSError)


class TwilioVoice:
    """Places a check-in call per outbox message (a ``ChannelSender`` for ``voice:``).

    It shares the SMS sender's twilio client (one aiohttp session, started and closed with
    it). The call's webhooks carry the outbox id, the one thing the sender knows of the row.
    """

    scheme = "voice"

    def __init__(
        self,
        sms: TwilioSms,
        from_number: str,
        public_base_url: str,
        *,
        timeout: float = 10.0,
        ring_seconds: int = 30,
    ) -> None:
        self._sms = sms
        self._from = from_number
        self._base = public_base_url.rstrip("/")
        self._timeout = timeout
        self._ring = ring_seconds

    async def send(self, message: OutboundMessage) -> SendResult:
        to = phone_of(message.address)
        query = urlencode({"outbox": outbox_id_of(message.idempotency_key)})
        client = self._sms._rest()  # the SMS sender owns the client's lifecycle
        try:
            async with asyncio.timeout(self._timeout):
                call = await client.calls.create_async(
                    to=to,
                    from_=self._from,
                    url=f"{self._base}{ANSWER_PATH}?{query}",
                    method="POST",
                    status_callback=f"{self._base}{STATUS_PATH}?{query}",
                    status_callback_method="POST",
                    status_callback_event=list(CALL_EVENTS),
                    machine_detection="Enable",
                    timeout=self._ring,
                )
        except _TRANSLATED as exc:
            raise delivery_error(exc) from exc
        log.info("twilio call placed sid=%s key=%s", call.sid, message.idempotency_key)
        return SendResult(provider_id=str(call.sid), status=str(call.status or "queued"))


def outbox_id_of(idempotency_key: str) -> int:
    """``outbox:12`` → 12: a call is always placed for an outbox row."""
    match = _OUTBOX_KEY.match(idempotency_key)
    if match is None:
        raise PermanentDeliveryError("a call needs its outbox row", code="invalid_key")
    return int(match.group(1))


# -- what the caller sent ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Heard:
    """A Gather result: the keys pressed and/or the words recognised."""

    call_sid: str
    digits: str = ""
    speech: str = ""

    @property
    def empty(self) -> bool:
        return not (self.digits or self.speech)


@dataclass(frozen=True, slots=True)
class CallReport:
    """A call's answer or status callback."""

    call_sid: str
    status: str
    answered_by: str = ""
    duration: str = ""
    error_code: str | None = None

    @property
    def machine(self) -> bool:
        return self.answered_by in MACHINE_ANSWERS

    @property
    def log_status(self) -> str | None:
        """The contact-log status this call status means (None for an unknown one)."""
        return CALL_STATUS.get(self.status)


def parse_heard(form: Mapping[str, str]) -> Heard:
    """A Gather webhook's fields; ValueError when ``CallSid`` is missing."""
    return Heard(
        _required(form, "CallSid"),
        form.get("Digits", "").strip(),
        form.get("SpeechResult", "").strip(),
    )


def parse_report(form: Mapping[str, str]) -> CallReport:
    """An answer or status webhook's fields; ValueError when ``CallSid`` is missing."""
    return CallReport(
        _required(form, "CallSid"),
        form.get("CallStatus", ""),
        form.get("AnsweredBy", ""),
        form.get("CallDuration", ""),
        form.get("ErrorCode") or None,
    )


def _required(form: Mapping[str, str], name: str) -> str:
    value = form.get(name, "")
    if not value:
        raise ValueError(f"missing {name}")
    return value


# -- voices and keypads -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SpeechVoice:
    """The language code and the Polly voice of a ``<Say>``/``<Gather>``."""

    language: str
    voice: str


_VOICES: Final = {
    ("es", "MX"): SpeechVoice("es-MX", "Polly.Mia"),
    ("es", ""): SpeechVoice("es-US", "Polly.Lupe"),
    ("en", ""): SpeechVoice("en-US", "Polly.Joanna"),
}


def speech_voice(language: str, country: str = "") -> SpeechVoice:
    """en → en-US Joanna; es → es-MX Mia for Mexico, else es-US Lupe."""
    lang = language if language in ("en", "es") else "en"
    return _VOICES.get((lang, country.upper()), _VOICES[(lang, "")])


@dataclass(frozen=True, slots=True)
class Keypad:
    """How a question is answered by keypad: one key, or digits ending with ``#``.

    ``keys`` maps a key to the reply text the parser reads ("1" → "yes"); with no ``keys``
    the digits are the number itself (``*`` is a decimal point).
    """

    one_key: bool
    hint: str
    keys: Mapping[str, str] = field(default_factory=dict)
    speech_hints: str = ""
    open_keys: bool = False
    """One-key digits outside ``keys`` are passed on as typed (a choice's number)."""

    @property
    def stops(self) -> bool:
        """Whether 9 stops the calls here (it is not an answer on this prompt)."""
        return self.one_key and STOP_KEY not in self.keys

    def reply(self, digits: str) -> str | None:
        """The reply text for ``digits``; None for a key that means nothing here."""
        if self.stops and digits == STOP_KEY:
            return STOP_WORD
        if not self.keys:
            return digits.replace("*", ".")
        if digits in self.keys:
            return self.keys[digits]
        return digits if self.open_keys else None


def keypad_for(question: Question, language: str) -> Keypad:
    """The keypad of ``question``, with its spoken instructions in ``language``."""
    words = VoiceWords(language)
    if question.type == "yesno":
        hints = "sí, no" if words.lang == "es" else "yes, no"
        return Keypad(True, words("yesno"), {"1": "yes", "2": "no"}, hints)
    if question.type == "choice":
        numbers = option_numbers(question)
        labels = [option.label.get(words.lang) for option in question.options]
        hint = words.choices([(str(n), label) for n, label in zip(numbers, labels, strict=True)])
        if min(numbers) >= 0 and max(numbers) <= 9:
            keys = {str(n): str(n) for n in numbers}
            return Keypad(True, hint, keys, ", ".join(labels), open_keys=True)
        return Keypad(False, hint, speech_hints=", ".join(labels))
    if question.type == "scale" and question.max is not None and question.max < 10:
        low, high = _whole(question.min), _whole(question.max)
        keys = {str(n): str(n) for n in range(int(question.min or 0), int(question.max) + 1)}
        return Keypad(True, words("digit_range", min=low, max=high), keys, open_keys=True)
    if question.type == "scale":
        low, high = _whole(question.min), _whole(question.max)
        return Keypad(False, words("number_range", min=low, max=high))
    if question.type == "number":
        return Keypad(False, words("number"))
    return Keypad(True, words("text"), {"2": "no"})


def spoken_question(question: Question, language: str, preface: str = "") -> str:
    """What a ``<Gather>`` says: ``preface`` (the crisis text), the question and its keys."""
    parts = (preface, question.text.get(language), keypad_for(question, language).hint)
    return " ".join(part for part in parts if part)


def _whole(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


# -- wording ----------------------------------------------------------------------------------

_WORDS: Final[dict[str, dict[str, str]]] = {
    "who": {
        "en": "Hello, this is {team} calling for {first_name}. "
        "If this is {first_name}, press 1. If not, press 2.",
        "es": "Hola, le llama {team} para {first_name}. "
        "Si usted es {first_name}, marque 1. Si no, marque 2.",
    },
    "not_patient": {
        "en": "Thank you. We will call back another time. Goodbye.",
        "es": "Gracias. Llamaremos en otro momento. Adiós.",
    },
    "voicemail": {
        "en": "Hello, this is {team}. Please call us back at {phone}. Thank you. Goodbye.",
        "es": "Hola, le llama {team}. Por favor devuélvanos la llamada al {phone}. Gracias. Adiós.",
    },
    "voicemail_no_phone": {
        "en": "Hello, this is {team}. We will call again later. Thank you. Goodbye.",
        "es": "Hola, le llama {team}. Le llamaremos más tarde. Gracias. Adiós.",
    },
    "stop_hint": {
        "en": "Press 9 at any time to stop these calls.",
        "es": "Marque 9 en cualquier momento para dejar de recibir estas llamadas.",
    },
    "yesno": {"en": "Press 1 for yes, or 2 for no.", "es": "Marque 1 para sí, o 2 para no."},
    "choice": {"en": "Press {items}.", "es": "Marque {items}."},
    "choice_item": {"en": "{number} for {label}", "es": "{number} para {label}"},
    "or": {"en": "or", "es": "o"},
    "digit_range": {
        "en": "Press a number from {min} to {max}, or say your answer.",
        "es": "Marque un número del {min} al {max}, o diga su respuesta.",
    },
    "number_range": {
        "en": "Enter a number from {min} to {max} on your keypad, then press the pound key. "
        "You can also say your answer.",
        "es": "Marque un número del {min} al {max} y después la tecla de numeral. "
        "También puede decir su respuesta.",
    },
    "number": {
        "en": "Enter the number on your keypad, then press the pound key. "
        "You can also say your answer.",
        "es": "Marque el número en su teclado y después la tecla de numeral. "
        "También puede decir su respuesta.",
    },
    "text": {
        "en": "Please say your answer. To answer no, press 2.",
        "es": "Por favor diga su respuesta. Para responder que no, marque 2.",
    },
    "not_heard": {
        "en": "Sorry, I did not hear an answer.",
        "es": "Perdón, no escuché una respuesta.",
    },
    "not_understood": {"en": "Sorry, I didn't understand.", "es": "Perdón, no entendí."},
    "call_later": {
        "en": "We did not hear an answer. We will call again later. Goodbye.",
        "es": "No escuchamos una respuesta. Le llamaremos más tarde. Adiós.",
    },
    "stopped": {
        "en": "You will not get more calls from {team}. Goodbye.",
        "es": "No recibirá más llamadas de {team}. Adiós.",
    },
    "help": {
        "en": "{program}, from {team}. We call about once a month. To stop these calls, say stop.",
        "es": "{program}, de {team}. Llamamos aproximadamente una vez al mes. "
        "Para no recibir más llamadas, diga parar.",
    },
    "connecting": {
        "en": "Connecting you to your care team now.",
        "es": "Le comunicamos ahora con su equipo de atención.",
    },
    "call_now": {
        "en": "If you need help now, hang up and call {emergency}.",
        "es": "Si necesita ayuda ahora, cuelgue y llame al {emergency}.",
    },
    "nothing_due": {
        "en": "There is nothing to go over today. Thank you. Goodbye.",
        "es": "No hay nada pendiente hoy. Gracias. Adiós.",
    },
    "failed": {
        "en": "Sorry, something went wrong. We will call again later. Goodbye.",
        "es": "Perdón, algo salió mal. Le llamaremos más tarde. Adiós.",
    },
}


class VoiceWords:
    """The words a call says, in one language (English when there is no translation)."""

    def __init__(self, language: str) -> None:
        self.lang = language if language in ("en", "es") else "en"

    def __call__(self, key: str, **values: str) -> str:
        template = _WORDS[key].get(self.lang) or _WORDS[key]["en"]
        needed = {name for _, name, _, _ in Formatter().parse(template) if name}
        return template.format(**{name: values.get(name, "") for name in needed})

    def choices(self, items: Sequence[tuple[str, str]]) -> str:
        parts = [self("choice_item", number=n, label=label) for n, label in items]
        if len(parts) > 1:
            parts[-1] = f"{self('or')} {parts[-1]}"
        return self("choice", items=", ".join(parts))


def spoken_phone(number: str, region: str = "US") -> str:
    """A phone number read digit by digit in groups: "2 0 2, 5 5 5, 0 1 0 0"."""
    try:
        parsed = phonenumbers.parse(number, region)
        national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    except phonenumbers.NumberParseException:
        national = number
    groups = re.findall(r"\d+", national)
    return ", ".join(" ".join(group) for group in groups)


def dialable(number: str, region: str = "US") -> str | None:
    """``number`` in E.164 for ``<Dial>``; None when it is not a valid phone number."""
    if not number.strip():
        return None
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


# -- TwiML ------------------------------------------------------------------------------------

GATHER_TIMEOUT = 6


class CallScript:
    """Builds the TwiML of one call in the patient's language and voice."""

    def __init__(self, voice: SpeechVoice, language: str) -> None:
        self.voice = voice
        self.words = VoiceWords(language)

    def say_all(self, parts: Sequence[str], *, then_hang_up: bool = True) -> str:
        """Say ``parts`` one after the other, then hang up."""
        response = VoiceResponse()
        self._say(response, parts)
        if then_hang_up:
            response.hangup()
        return _xml(response)

    def ask(self, said: Sequence[str], prompt: str, keypad: Keypad, action: str) -> str:
        """Say ``said``, then ask ``prompt`` in a ``<Gather>`` posting to ``action``.

        ``actionOnEmptyResult`` makes silence post too, so the host decides what follows.
        """
        response = VoiceResponse()
        self._say(response, said)
        options: dict[str, Any] = {
            "input": "dtmf speech",
            "action": action,
            "method": "POST",
            "timeout": GATHER_TIMEOUT,
            "speech_timeout": "auto",
            "language": self.voice.language,
            "action_on_empty_result": True,
        }
        if keypad.one_key:
            options["num_digits"] = 1
        else:
            options["finish_on_key"] = "#"
        if keypad.speech_hints:
            options["hints"] = keypad.speech_hints
        gather = response.gather(**options)
        gather.say(prompt, voice=self.voice.voice, language=self.voice.language)
        return _xml(response)

    def connect(self, said: Sequence[str], number: str | None, after: str) -> str:
        """Say ``said`` (emergency advice), put the care team on the line when there is a
        number, then say ``after`` should nobody answer, and hang up."""
        response = VoiceResponse()
        self._say(response, said)
        if number:
            self._say(response, [self.words("connecting")])
            response.dial(number)
        self._say(response, [after])
        response.hangup()
        return _xml(response)

    def _say(self, response: VoiceResponse, parts: Sequence[str]) -> None:
        for part in parts:
            if part:
                response.say(part, voice=self.voice.voice, language=self.voice.language)


def hang_up() -> str:
    """TwiML that says nothing and ends the call."""
    response = VoiceResponse()
    response.hangup()
    return _xml(response)


def _xml(response: VoiceResponse) -> str:
    return str(response.to_xml())
