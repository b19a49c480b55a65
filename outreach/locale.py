"""Emergency and crisis numbers per country, and the patient-facing safety texts (CLINICAL §2)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class EmergencyLocale:
    """What a patient in this country should call."""

    country: str
    emergency: str
    crisis: str
    crisis_name: str
    poison: str = ""


_EU = (
    "AT",
    "BE",
    "BG",
    "HR",
    "CY",
    "CZ",
    "DK",
    "EE",
    "FI",
    "FR",
    "DE",
    "GR",
    "HU",
    "IE",
    "IT",
    "LV",
    "LT",
    "LU",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SK",
    "SI",
    "SE",
)

_TABLE: dict[str, EmergencyLocale] = {
    "US": EmergencyLocale("US", "911", "988", "Suicide & Crisis Lifeline", "1-800-222-1222"),
    "CA": EmergencyLocale("CA", "911", "988", "Suicide Crisis Helpline"),
    "MX": EmergencyLocale("MX", "911", "800 911 2000", "Línea de la Vida"),
    "ES": EmergencyLocale("ES", "112", "024", "Línea 024"),
    "GB": EmergencyLocale("GB", "999", "116 123", "Samaritans"),
    "BR": EmergencyLocale("BR", "192", "188", "CVV"),
}
for _country in _EU:
    _TABLE.setdefault(_country, EmergencyLocale(_country, "112", "112", "emergency services"))

LOCALES: Mapping[str, EmergencyLocale] = MappingProxyType(_TABLE)

# Time zones for patients without a phone number (Telegram-only): a zone's country.
_ZONE_COUNTRY = {
    "America/": "US",
    "US/": "US",
    "Pacific/Honolulu": "US",
    "America/Mexico_City": "MX",
    "America/Monterrey": "MX",
    "America/Cancun": "MX",
    "America/Tijuana": "MX",
    "America/Toronto": "CA",
    "America/Vancouver": "CA",
    "America/Sao_Paulo": "BR",
    "Europe/Madrid": "ES",
    "Europe/London": "GB",
}


def locale_for(
    country: str | None, extra: Mapping[str, EmergencyLocale] | None = None
) -> EmergencyLocale | None:
    """The locale of a country code (ISO 3166 alpha-2), or None when the table has no entry."""
    if not country:
        return None
    country = country.upper()
    if extra and country in extra:
        return extra[country]
    return LOCALES.get(country)


def country_for_timezone(tz: str) -> str | None:
    """A best guess of the country of a time zone (exact names first, then prefixes)."""
    if tz in _ZONE_COUNTRY:
        return _ZONE_COUNTRY[tz]
    for prefix, country in _ZONE_COUNTRY.items():
        if prefix.endswith("/") and tz.startswith(prefix):
            return country
    return None


def emergency_text(loc: EmergencyLocale, language: str) -> str:
    """The EMERGENCY reply (CLINICAL §2)."""
    if language == "es":
        return (
            f"Esto puede ser una emergencia. Llame al {loc.emergency} ahora, o pida a alguien "
            "cerca de usted que llame. Este número no se vigila las 24 horas."
        )
    return (
        f"This may be an emergency. Call {loc.emergency} now, or ask someone near you to call. "
        "This number is not watched around the clock."
    )


def crisis_text(loc: EmergencyLocale, language: str) -> str:
    """The CRISIS reply (CLINICAL §2)."""
    if loc.country in ("US",):
        if language == "es":
            return (
                "Por favor llame al 988 y marque 2, o envíe AYUDA por texto al 988 (Línea de "
                "Prevención del Suicidio y Crisis, 24/7). Si está en peligro ahora, llame al 911."
            )
        return (
            "Please call or text 988 (Suicide & Crisis Lifeline, 24/7). "
            "If you are in danger now, call 911."
        )
    if language == "es":
        return (
            f"Por favor llame al {loc.crisis} ({loc.crisis_name}). Si está en peligro ahora, "
            f"llame al {loc.emergency}."
        )
    return (
        f"Please call {loc.crisis} ({loc.crisis_name}). If you are in danger now, "
        f"call {loc.emergency}."
    )
