"""Channel names and addresses: ``sms`` patients are reached at ``tel:+1…`` and so on."""

from __future__ import annotations

from storage.models import FamilyContact, Patient

SCHEME_OF_CHANNEL = {"sms": "tel", "voice": "voice", "telegram": "telegram", "sandbox": "sandbox"}
CHANNEL_OF_SCHEME = {scheme: channel for channel, scheme in SCHEME_OF_CHANNEL.items()}


def channel_of(address: str) -> str:
    """The channel name of an address (``tel:+1…`` → ``sms``)."""
    scheme = address.partition(":")[0]
    return CHANNEL_OF_SCHEME.get(scheme, scheme)


def patient_address(patient: Patient) -> str | None:
    """Where the patient's check-ins go; None while a Telegram patient awaits a link."""
    if patient.channel == "telegram":
        return f"telegram:{patient.telegram_chat_id}" if patient.telegram_chat_id else None
    if patient.channel == "sandbox":
        return f"sandbox:{patient.external_id}"
    if not patient.phone:
        return None
    return f"{SCHEME_OF_CHANNEL.get(patient.channel, 'tel')}:{patient.phone}"


def family_address(contact: FamilyContact) -> str:
    return contact.address
