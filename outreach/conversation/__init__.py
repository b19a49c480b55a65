"""Check-in conversations: a pure step function over a JSON state, emitting events."""

from outreach.conversation.engine import (
    CheckInDue,
    Input,
    KeywordReceived,
    Reply,
    ReplyTimeout,
    step,
)
from outreach.conversation.env import ConversationEnv, PatientView, Policy, no_screen
from outreach.conversation.state import ConversationState

__all__ = [
    "CheckInDue",
    "ConversationEnv",
    "ConversationState",
    "Input",
    "KeywordReceived",
    "PatientView",
    "Policy",
    "Reply",
    "ReplyTimeout",
    "no_screen",
    "step",
]
