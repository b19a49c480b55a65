"""What a committed transaction leaves for the process to do right after the commit."""

from __future__ import annotations

from dataclasses import dataclass, field

from storage.repositories.escalations import Raised


@dataclass
class Edit:
    """Rewrite a message already delivered (a Telegram alert once someone acknowledged it)."""

    address: str
    provider_id: str
    text: str


@dataclass
class Applied:
    """Outbox ids to hand to the provider at once, message edits, and what was raised."""

    checkin_id: int | None = None
    deliver_now: list[int] = field(default_factory=list)
    escalations: list[Raised] = field(default_factory=list)
    revoked_addresses: list[str] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)

    def merge(self, other: Applied) -> None:
        self.deliver_now.extend(other.deliver_now)
        self.escalations.extend(other.escalations)
        self.revoked_addresses.extend(other.revoked_addresses)
        self.edits.extend(other.edits)
