"""The error tree of carebot.

CarebotError
├── ConfigurationError (ValueError)      a setting is missing or invalid
├── ProgramError (ValueError)            a program file is invalid (names file, question, field)
├── ParseError (ValueError)              a reply could not be read as an answer
├── NotFound (LookupError)               a patient, manager or record does not exist
│   └── PatientNotFound
├── Conflict (RuntimeError)              the action clashes with current state
│   └── CheckInInProgress
├── ConsentMissing (PermissionError)     no consent on that channel
└── DeliveryError                        a provider could not take a message
    ├── RetryableDeliveryError           try again later (429, 5xx, timeout); retry_after in seconds
    └── PermanentDeliveryError           never retry (invalid number, opted out, blocked)
        └── RecipientOptedOut            the provider says the recipient opted out / blocked us
"""

from __future__ import annotations


class CarebotError(Exception):
    """Base of every error carebot raises on purpose."""


class ConfigurationError(CarebotError, ValueError):
    """A setting is missing or invalid."""


class ProgramError(CarebotError, ValueError):
    """A program file is invalid."""


class ParseError(CarebotError, ValueError):
    """A reply could not be read as an answer to the current question."""


class NotFound(CarebotError, LookupError):
    """A record does not exist."""


class PatientNotFound(NotFound):
    """No patient with that id."""


class Conflict(CarebotError, RuntimeError):
    """The action clashes with the current state."""


class CheckInInProgress(Conflict):
    """Another check-in of the patient is in progress."""


class ConsentMissing(CarebotError, PermissionError):
    """There is no consent to contact the recipient on that channel."""


class DeliveryError(CarebotError):
    """A provider could not take a message.

    ``code`` is the provider's error code (e.g. Twilio 21610) when it gave one.
    """

    retryable: bool = False

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.status = status


class RetryableDeliveryError(DeliveryError):
    """Try again later: rate limited, provider error or timeout."""

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message, code=code, status=status)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    """Never retry this message."""


class RecipientOptedOut(PermanentDeliveryError):
    """The provider reports that the recipient opted out or blocked the bot."""
