"""A message that belongs to no open check-in: safety first, then keywords, then a note."""

from __future__ import annotations

from dataclasses import dataclass, field

from outreach.conversation.env import ConversationEnv
from outreach.conversation.replies import Replies
from outreach.findings import Finding, Severity
from outreach.keywords import Keyword, classify


@dataclass(frozen=True, slots=True)
class OutsideResponse:
    """What to do with the message.

    ``consent``: False revokes the channel, True restores it, None leaves it. ``reply_kind`` is
    empty when nothing is sent. ``escalate`` are findings for the care team; ``flag`` asks a
    person to read the message.
    """

    keyword: Keyword | None
    findings: tuple[Finding, ...]
    reply_kind: str = ""
    reply: str = ""
    consent: bool | None = None
    escalate: tuple[Finding, ...] = field(default=())
    flag: bool = False


OPT_OUT_NOTE = Finding(
    rule_id="patient.opted_out",
    severity=Severity.ROUTINE,
    explanation="The patient opted out of messages on this channel.",
    category="opt_out",
)


def respond_outside(text: str, env: ConversationEnv, *, opted_out: bool) -> OutsideResponse:
    """Decide the response to a message outside a check-in (SPEC §5 order of handling)."""
    replies = Replies(env)
    findings = tuple(
        f
        for f in env.screen(text, env.patient.language)
        if not f.negated and (f.severity > Severity.NONE or f.response == "guidance")
    )
    alerting = tuple(f for f in findings if f.severity > Severity.NONE)
    keyword = classify(text, opted_out=opted_out)
    emergency = any(
        f.severity == Severity.EMERGENCY and f.response in ("emergency", "crisis") for f in findings
    )
    if opted_out and keyword is Keyword.START:
        return OutsideResponse(keyword, findings, "start_confirm", replies.start_confirm(), True)
    if emergency:
        body, consent = replies.safety(findings), None
        if keyword is Keyword.STOP and not opted_out:
            body, consent = replies.join(body, replies.stop_confirm()), False
        kind = "crisis" if any(f.response == "crisis" for f in findings) else "emergency"
        return OutsideResponse(keyword, findings, kind, body, consent, alerting, flag=True)
    if opted_out:
        # Nothing is sent after STOP; the care team still sees what was said.
        return OutsideResponse(keyword, findings, escalate=alerting, flag=True)
    if keyword is Keyword.STOP:
        return OutsideResponse(
            keyword,
            findings,
            "stop_confirm",
            replies.stop_confirm(),
            False,
            (*alerting, OPT_OUT_NOTE),
        )
    if keyword is Keyword.HELP:
        return OutsideResponse(keyword, findings, "help", replies.help_text(), escalate=alerting)
    if keyword is Keyword.START:
        return OutsideResponse(keyword, findings, "start_confirm", replies.start_confirm(), True)
    advice = replies.advice_for(findings)
    body = replies.join(advice, replies.unmatched())
    return OutsideResponse(keyword, findings, "ack", body, escalate=alerting, flag=True)
