"""Runs a scripted exchange through the conversation step and writes a readable transcript."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from outreach.conversation import (
    CheckInDue,
    ConversationEnv,
    ConversationState,
    Input,
    Reply,
    ReplyTimeout,
    step,
)
from outreach.conversation.events import (
    AnswerRecorded,
    CheckInCancelled,
    CheckInCompleted,
    CheckInMissed,
    CheckInStarted,
    ConsentChanged,
    EscalationRaised,
    Event,
    FindingDetected,
    MessageQueued,
    WakeAt,
)
from outreach.conversation.outside import OutsideResponse, respond_outside


@dataclass
class Transcript:
    """What a scripted conversation produced."""

    lines: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    state: ConversationState | None = None

    @property
    def messages(self) -> list[MessageQueued]:
        return [e for e in self.events if isinstance(e, MessageQueued)]

    @property
    def escalations(self) -> list[EscalationRaised]:
        return [e for e in self.events if isinstance(e, EscalationRaised)]

    @property
    def answers(self) -> list[AnswerRecorded]:
        return [e for e in self.events if isinstance(e, AnswerRecorded)]

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def describe_outside(response: OutsideResponse) -> str:
    parts = [f"   outside: keyword={response.keyword.value if response.keyword else '-'}"]
    if response.consent is not None:
        parts.append(f"consent={'granted' if response.consent else 'revoked'}")
    if response.escalate:
        parts.append("escalate=" + ",".join(f.rule_id for f in response.escalate))
    if response.flag:
        parts.append("flagged")
    line = " ".join(parts)
    if response.reply_kind:
        line += f"\n>> BOT [{response.reply_kind}] {response.reply}"
    return line


def describe(event: Event) -> str:
    match event:
        case MessageQueued(kind=kind, body=body, seq=seq, scheduled=scheduled):
            when = " scheduled" if scheduled else ""
            return f">> BOT #{seq} [{kind}{when}] {body}"
        case AnswerRecorded(question_id=qid, value=value, unit=unit, needs_review=review):
            extra = f" {unit}" if unit else ""
            flag = " (needs review)" if review else ""
            return f"   answer {qid} = {value!r}{extra}{flag}"
        case FindingDetected(finding=f):
            return f"   finding {f.rule_id} {f.severity.label}{' sensitive' if f.sensitive else ''}"
        case EscalationRaised(findings=findings, severity=severity):
            ids = ", ".join(f.rule_id for f in findings)
            return f"   escalation {severity.label}: {ids}"
        case ConsentChanged(granted=granted):
            return f"   consent {'granted' if granted else 'revoked'}"
        case CheckInStarted():
            return "   started"
        case CheckInCompleted(severity=severity, ended_by=ended_by):
            return f"   completed ({ended_by}, {severity.label})"
        case CheckInMissed(answered=answered):
            return f"   missed ({answered} answered)"
        case CheckInCancelled(reason=reason):
            return f"   cancelled ({reason})"
        case WakeAt(at=at):
            return f"   wake {at.isoformat() if at else 'never'}"
    raise AssertionError(event)


def run_script(env: ConversationEnv, start: datetime, script: list[str | timedelta]) -> Transcript:
    """Start a check-in at ``start`` and play the script: a str is a reply a minute later,
    a timedelta moves the clock and delivers a ReplyTimeout."""
    state = ConversationState.new(env.program.id, env.patient.language)
    out = Transcript()
    now = start
    inputs: list[tuple[datetime, Input, str]] = [(now, CheckInDue(), "(check-in due)")]
    for item in script:
        if isinstance(item, timedelta):
            now += item
            inputs.append((now, ReplyTimeout(), f"(time passes: {item})"))
        else:
            now += timedelta(minutes=1)
            inputs.append((now, Reply(item), f"<< PAT {item}"))
    opted_out = False
    for moment, event, label in inputs:
        out.lines.append(label)
        if not state.open and isinstance(event, Reply):
            # After the check-in: the host answers outside a conversation.
            response = respond_outside(event.text, env, opted_out=opted_out)
            opted_out = opted_out if response.consent is None else not response.consent
            out.lines.append(describe_outside(response))
            continue
        state, events = step(state, event, moment, env)
        out.events.extend(events)
        out.lines.extend(describe(e) for e in events)
        if any(isinstance(e, ConsentChanged) and not e.granted for e in events):
            opted_out = True
    out.lines.append(f"== status {state.status}; answers {sorted(state.answers)}")
    out.state = state
    return out
