"""Patient- and family-facing wording, per language (never diagnoses, scores or drug names)."""

from __future__ import annotations

from datetime import date
from string import Formatter
from typing import Final

_TEXTS: Final[dict[str, dict[str, str]]] = {
    "greeting": {
        "en": "Hi {first_name}, this is your monthly check-in from {team}. "
        "It takes about two minutes.",
        "es": "Hola {first_name}, le escribe {team} para su revisión mensual. "
        "Toma unos dos minutos.",
    },
    "reminder": {
        "en": "Reminder from {team}: we'd still like to hear from you. {question}",
        "es": "Recordatorio de {team}: todavía queremos saber de usted. {question}",
    },
    "reask": {
        "en": "Sorry, I didn't understand. {hint}",
        "es": "Perdón, no entendí. {hint}",
    },
    "moving_on": {
        "en": "Thanks, I'll pass that on to your care team.",
        "es": "Gracias, se lo haré saber a su equipo de atención.",
    },
    "closing": {
        "en": "Thank you, {first_name}. Your answers have been sent to {team}.",
        "es": "Gracias, {first_name}. Sus respuestas se enviaron a {team}.",
    },
    "closing_flagged": {
        "en": "Thank you, {first_name}. {team} will look at your answers and may call you.",
        "es": "Gracias, {first_name}. {team} revisará sus respuestas y puede que le llame.",
    },
    "next_checkin": {
        "en": "Your next check-in is on {next_date}.",
        "es": "Su próxima revisión es el {next_date}.",
    },
    "stop_confirm": {
        "en": "You will not get more messages from {team} here. Reply START to get them again.",
        "es": "No recibirá más mensajes de {team} por aquí. "
        "Responda START para recibirlos de nuevo.",
    },
    "start_confirm": {
        "en": "Welcome back. You will get your check-ins from {team} again. Reply STOP to stop.",
        "es": "Bienvenido de nuevo. Volverá a recibir sus revisiones de {team}. "
        "Responda PARAR para dejar de recibirlas.",
    },
    "help": {
        "en": "{program} from {team}{phone_part}. About {frequency}. "
        "Reply STOP to opt out. Msg & data rates may apply.",
        "es": "{program} de {team}{phone_part}. Aproximadamente {frequency}. "
        "Responda PARAR para no recibir más. Pueden aplicarse tarifas de mensajes y datos.",
    },
    "help_continue": {
        "en": "To go on with your check-in: {question}",
        "es": "Para seguir con su revisión: {question}",
    },
    "other_person": {
        "en": "If someone near you needs help now, call {emergency} for them right away. "
        "Your care team has been told.",
        "es": "Si alguien cerca de usted necesita ayuda ahora, llame al {emergency} de "
        "inmediato. Su equipo de atención ya fue avisado.",
    },
    "guidance": {
        "en": "If that happens, call {emergency} right away. For other questions, "
        "call {team}{phone_part}.",
        "es": "Si eso pasa, llame al {emergency} de inmediato. Para otras preguntas, "
        "llame a {team}{phone_part}.",
    },
    "stroke_time": {
        "en": "Note the time it started.",
        "es": "Anote la hora en que empezó.",
    },
    "poison": {
        "en": "Poison control: {poison}.",
        "es": "Control de envenenamientos: {poison}.",
    },
    "then_question": {
        "en": "When you can, please answer: {question}",
        "es": "Cuando pueda, por favor responda: {question}",
    },
    "unmatched": {
        "en": "Thanks for your message. Your care team will get back to you.",
        "es": "Gracias por su mensaje. Su equipo de atención le responderá.",
    },
    "frequency_monthly": {"en": "one check-in a month", "es": "una revisión al mes"},
}


def text(key: str, language: str, **values: str) -> str:
    """The wording ``key`` in ``language`` (English when there is no translation)."""
    table = _TEXTS[key]
    template = table.get(language) or table["en"]
    needed = {name for _, name, _, _ in Formatter().parse(template) if name}
    return template.format(**{name: values.get(name, "") for name in needed})


def first_name(full_name: str) -> str:
    """The first word of a name (patients are greeted by first name)."""
    parts = full_name.split()
    return parts[0] if parts else full_name


_MONTHS = {
    "en": "January February March April May June July August September October November "
    "December".split(),
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre "
    "diciembre".split(),
}
_WEEKDAYS = {
    "en": "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split(),
    "es": "lunes martes miércoles jueves viernes sábado domingo".split(),
}


def format_date(day: date, language: str) -> str:
    """A date as patients read it: "Thursday, April 2" / "jueves 2 de abril"."""
    lang = language if language in _MONTHS else "en"
    weekday = _WEEKDAYS[lang][day.weekday()]
    month = _MONTHS[lang][day.month - 1]
    if lang == "es":
        return f"{weekday} {day.day} de {month}"
    return f"{weekday}, {month} {day.day}"
