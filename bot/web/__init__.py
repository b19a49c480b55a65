"""The web side of carebot: provider webhooks and the sandbox chat page."""

from bot.web.sandbox import SandboxLog, sandbox_routes
from bot.web.webhooks import (
    InboxSink,
    InboxUnavailable,
    StatusSink,
    inbound_from_inbox,
    webhook_routes,
)

__all__ = [
    "InboxSink",
    "InboxUnavailable",
    "SandboxLog",
    "StatusSink",
    "inbound_from_inbox",
    "sandbox_routes",
    "webhook_routes",
]
