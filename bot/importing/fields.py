"""Field parsers for the import files: each returns the stored value or raises ValueError."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

NOTIFY_SCOPES = ("escalation", "unreachable", "summary")
LB_PER_KG = 2.20462262185
WEIGHT_RANGE_LB = (50.0, 700.0)  # CLINICAL §1 heart failure weight: plausible adult range

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_WEIGHT = re.compile(r"(\d+(?:[.,]\d+)?)\s*([a-z]*)")
_WEIGHT_UNITS = {
    "": "lb",
    **dict.fromkeys(("lb", "lbs", "pound", "pounds"), "lb"),
    **dict.fromkeys(("kg", "kgs", "kilo", "kilos"), "kg"),
}


def shown(text: str) -> str:
    """A cell as quoted in an error message (cut short, so a stray paragraph stays readable)."""
    return repr(text if len(text) <= 40 else text[:37] + "...")


def parse_phone(text: str, region: str, column: str = "phone") -> phonenumbers.PhoneNumber:
    """A valid phone number; numbers without ``+`` are read in ``region`` (DEFAULT_REGION)."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValueError(f"{column} {shown(text)} is not a valid phone number (region {region})")
    return number


def e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_country(number: phonenumbers.PhoneNumber) -> str | None:
    """The ISO country of a number (``US`` for +1 202…), None when the plan does not say."""
    return phonenumbers.region_code_for_number(number)


def parse_zone(text: str, column: str = "timezone") -> str:
    """An IANA time zone name such as ``America/Chicago``."""
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{column} {shown(text)} is not an IANA time zone (e.g. America/Chicago)"
        ) from None
    return text


def parse_email(text: str, column: str = "email") -> str:
    """An e-mail address, lower-cased (addresses are compared without case)."""
    if not _EMAIL.fullmatch(text):
        raise ValueError(f"{column} {shown(text)} is not an e-mail address")
    return text.lower()


def parse_choice(text: str, choices: tuple[str, ...], column: str) -> str:
    value = text.lower()
    if value not in choices:
        raise ValueError(f"{column} {shown(text)} must be one of {', '.join(choices)}")
    return value


def parse_weight_lb(text: str) -> float:
    """A weight in pounds from ``182``, ``182 lb`` or ``82.5 kg`` (a bare number is pounds)."""
    match = _WEIGHT.fullmatch(text.strip().lower())
    unit = _WEIGHT_UNITS.get(match[2]) if match else None
    if match is None or unit is None:
        raise ValueError(
            f"baseline_weight {shown(text)} must be a number with lb or kg (e.g. 182, 182 lb, "
            "82.5 kg)"
        )
    value = float(match[1].replace(",", "."))
    pounds = value * LB_PER_KG if unit == "kg" else value
    low, high = WEIGHT_RANGE_LB
    if not low <= pounds <= high:
        raise ValueError(
            f"baseline_weight {shown(text)} is outside {low:g}–{high:g} lb "
            f"({low / LB_PER_KG:.0f}–{high / LB_PER_KG:.0f} kg)"
        )
    return round(pounds, 1)


def parse_notify(text: str) -> tuple[str, ...]:
    """The family notify scope: a ``;``-separated non-empty subset of :data:`NOTIFY_SCOPES`."""
    words = [word.strip().lower() for word in text.split(";") if word.strip()]
    unknown = [word for word in words if word not in NOTIFY_SCOPES]
    if unknown or not words:
        raise ValueError(
            f"family_notify {shown(text)} must be one or more of {', '.join(NOTIFY_SCOPES)} "
            "separated by ';'"
        )
    return tuple(scope for scope in NOTIFY_SCOPES if scope in words)


def check_length(text: str, limit: int, column: str) -> str:
    if len(text) > limit:
        raise ValueError(f"{column} is longer than {limit} characters")
    return text
