"""The check-in conversation as a pure step function: (state, input, now) -> (state, events).

Every inbound message is handled in this order (SPEC §5): red-flag screening, keywords
(STOP/HELP/START), the answer to the current question. An emergency or crisis finding ends
the check-in at once and its advice is the reply.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from outreach.conversation.env import ConversationEnv
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
from outreach.conversation.flow import next_question
from outreach.conversation.replies import Replies
from outreach.conversation.state import ConversationState, iso, parse_iso
from outreach.conversation.timing import first_reminders, next_wake
from outreach.errors import ParseError
from outreach.findings import Finding, Severity, highest
from outreach.keywords import Keyword, classify, provider_handles_opt_out
from outreach.parsing import parse_answer
from outreach.rules import compute_totals, evaluate


@dataclass(frozen=True, slots=True)
class CheckInDue:
    """Start the conversation: greeting and first question."""


@dataclass(frozen=True, slots=True)
class Reply:
    """A message from the patient."""

    text: str


@dataclass(frozen=True, slots=True)
class ReplyTimeout:
    """The wake-up time passed: send a reminder, or miss the check-in at the deadline."""


@dataclass(frozen=True, slots=True)
class KeywordReceived:
    """A keyword learned outside this conversation (a STOP on a shared phone, a provider's
    opt-out): cancel without a confirmation of our own."""

    keyword: Keyword


Input = CheckInDue | Reply | ReplyTimeout | KeywordReceived


class _Out:
    """Collects events and numbers the messages of one step."""

    def __init__(self, state: ConversationState) -> None:
        self.state = state
        self.events: list[Event] = []

    def send(self, kind: str, body: str, *, scheduled: bool = False) -> None:
        self.state.seq += 1
        self.events.append(MessageQueued(kind, body, self.state.seq, scheduled))

    def emit(self, event: Event) -> None:
        self.events.append(event)


def step(
    state: ConversationState, event: Input, now: datetime, env: ConversationEnv
) -> tuple[ConversationState, list[Event]]:
    """Advance the conversation. Pure: the input state is not modified."""
    new = ConversationState.from_json(state.to_json())
    out = _Out(new)
    if not new.open:
        return new, []
    match event:
        case CheckInDue():
            _start(out, now, env)
        case Reply(text=text):
            _on_reply(out, text, now, env)
        case ReplyTimeout():
            _on_timeout(out, now, env)
        case KeywordReceived(keyword=keyword):
            if keyword is Keyword.STOP:
                _cancel(out, "opted_out")
    return new, out.events


def _start(out: _Out, now: datetime, env: ConversationEnv) -> None:
    state = out.state
    if state.status != "pending":
        return
    first = next_question(env.program, state)
    if first is None:
        _cancel(out, "no_questions")
        return
    state.status = "in_progress"
    state.started_at = iso(now)
    state.deadline = iso(now + env.policy.response_window)
    state.reminders = [iso(t) for t in first_reminders(now, env)]
    out.emit(CheckInStarted(now))
    replies = Replies(env)
    _ask(out, first, now, replies.opening(first), kind="question", scheduled=True)
    out.emit(WakeAt(next_wake(state, now)))


def _ask(
    out: _Out, question_id: str, now: datetime, body: str, *, kind: str, scheduled: bool = False
) -> None:
    state = out.state
    state.current = question_id
    state.reasks = 0
    if question_id not in state.asked:
        state.asked.append(question_id)
    state.last_question_at = iso(now)
    out.send(kind, body, scheduled=scheduled)


def _on_reply(out: _Out, text: str, now: datetime, env: ConversationEnv) -> None:
    state = out.state
    replies = Replies(env)
    findings = _new_findings(state, env.screen(text, state.language))
    keyword = classify(text)
    for finding in findings:
        out.emit(FindingDetected(finding))
    if any(_ends_checkin(f) for f in findings):
        _record_free_text(out, text, env)
        _end_with_safety(out, findings, text, env, stop=keyword is Keyword.STOP)
        return
    if keyword is Keyword.STOP:
        _opt_out(out, findings, text, env)
        return
    if keyword is Keyword.HELP:
        out.send("help", replies.help_then(state.current))
        return
    if keyword is Keyword.START and state.current is not None:
        out.send("question", replies.question(state.current))
        return
    alerts = [f for f in findings if f.severity >= Severity.URGENT]
    if alerts:
        _escalate(out, alerts, text)
    state.pending_findings.extend(f.to_dict() for f in findings if f.severity == Severity.ROUTINE)
    _answer(out, text, now, env, prefix=replies.advice_for(findings))


def _answer(out: _Out, text: str, now: datetime, env: ConversationEnv, *, prefix: str) -> None:
    state = out.state
    replies = Replies(env)
    if state.current is None:
        return
    question = env.program.question(state.current)
    try:
        parsed = parse_answer(question, text, state.language)
    except ParseError as exc:
        if state.reasks == 0 and not prefix:
            state.reasks = 1
            out.send("reask", replies.reask(str(exc) or replies.hint(question.id)))
            return
        if state.reasks == 0:
            state.reasks = 1
            out.send("reask", replies.join(prefix, replies.then_question(question.id)))
            return
        out.emit(AnswerRecorded(question.id, None, text, None, needs_review=True))
        state.review.append(question.id)
        prefix = replies.join(prefix, replies.moving_on())
    else:
        state.answers[question.id] = parsed.value
        out.emit(AnswerRecorded(question.id, parsed.value, text, parsed.unit))
        found = _new_findings(state, _rules(env, state))
        if _handle_rule_findings(out, found, text, env):
            return
    _advance(out, now, env, prefix)


def _advance(out: _Out, now: datetime, env: ConversationEnv, prefix: str) -> None:
    state = out.state
    replies = Replies(env)
    following = next_question(env.program, state)
    if following is None:
        _complete(out, env, prefix)
        return
    _ask(out, following, now, replies.join(prefix, replies.question(following)), kind="question")
    out.emit(WakeAt(next_wake(state, now)))


def _handle_rule_findings(
    out: _Out, findings: list[Finding], text: str, env: ConversationEnv
) -> bool:
    """Findings of the answer just given: urgent, emergency and ``immediate`` ones are raised
    at once (the patient may never finish), routine ones with the rest at the end. True when
    one ended the check-in."""
    if not findings:
        return False
    for finding in findings:
        out.emit(FindingDetected(finding))
    if any(_ends_checkin(f) for f in findings):
        _end_with_safety(out, findings, text, env, stop=False)
        return True
    now = [f for f in findings if f.severity >= Severity.URGENT or f.rule_id in _immediate(env)]
    later = [f for f in findings if f not in now]
    if now:
        _escalate(out, now, text)
    out.state.reported.extend(f.rule_id for f in later)
    out.state.pending_findings.extend(f.to_dict() for f in later)
    return False


def _complete(out: _Out, env: ConversationEnv, prefix: str) -> None:
    state = out.state
    replies = Replies(env)
    findings = _new_findings(state, _rules(env, state))
    for finding in findings:
        out.emit(FindingDetected(finding))
    pending = [Finding.from_dict(d) for d in state.pending_findings]
    state.pending_findings = []
    to_report = pending + findings
    if to_report:
        _escalate(out, to_report, None)
    state.totals = compute_totals(env.program, state.answers)
    state.status = "completed"
    state.current = None
    state.ended_by = "answers"
    closing = replies.closing(flagged=bool(state.reported) or bool(state.review))
    out.send("closing", replies.join(prefix, closing))
    out.emit(CheckInCompleted(Severity(state.severity)))
    out.emit(WakeAt(None))


def _on_timeout(out: _Out, now: datetime, env: ConversationEnv) -> None:
    state = out.state
    if state.status == "pending":
        return
    deadline = parse_iso(state.deadline)
    if deadline is not None and now >= deadline:
        _miss(out, env)
        return
    question = env.program.question(state.current) if state.current else None
    due = [t for t in state.reminders[state.reminders_sent :] if _iso_le(t, now)]
    if due and question is not None and not question.no_reminders:
        state.reminders_sent += len(due)
        last_asked = parse_iso(state.last_question_at)
        if last_asked is None or now - last_asked >= env.policy.min_idle_before_reminder:
            out.send("reminder", Replies(env).reminder(question.id), scheduled=True)
    elif due:
        state.reminders_sent += len(due)
    out.emit(WakeAt(next_wake(state, now)))


def _miss(out: _Out, env: ConversationEnv) -> None:
    state = out.state
    findings = _new_findings(state, _rules(env, state))
    pending = [Finding.from_dict(d) for d in state.pending_findings]
    state.pending_findings = []
    for finding in findings:
        out.emit(FindingDetected(finding))
    if findings or pending:
        _escalate(out, findings + pending, None)
    state.totals = compute_totals(env.program, state.answers)
    state.status = "missed"
    state.current = None
    state.ended_by = "timeout"
    out.emit(CheckInMissed(len(state.answers)))
    out.emit(WakeAt(None))


def _opt_out(out: _Out, findings: list[Finding], text: str, env: ConversationEnv) -> None:
    note = Finding(
        rule_id="patient.opted_out",
        severity=Severity.ROUTINE,
        explanation="The patient opted out of messages on this channel.",
        category="opt_out",
    )
    _escalate(out, [*findings, note], text)
    out.emit(ConsentChanged(granted=False, provider_answers=provider_handles_opt_out(text)))
    out.send("stop_confirm", Replies(env).stop_confirm())
    _cancel(out, "opted_out")


def _cancel(out: _Out, reason: str) -> None:
    state = out.state
    state.status = "cancelled"
    state.current = None
    state.ended_by = reason
    out.emit(CheckInCancelled(reason))
    out.emit(WakeAt(None))


def _end_with_safety(
    out: _Out, findings: list[Finding], text: str, env: ConversationEnv, *, stop: bool
) -> None:
    state = out.state
    replies = Replies(env)
    body = replies.safety(findings)
    if stop:
        out.emit(ConsentChanged(granted=False))
        body = replies.join(body, replies.stop_confirm())
    kind = "crisis" if any(f.response == "crisis" for f in findings) else "emergency"
    # The patient's advice is queued first, so it is the first thing handed to the provider.
    out.send(kind, body)
    _escalate(out, findings, text)
    pending = [Finding.from_dict(d) for d in state.pending_findings]
    state.pending_findings = []
    if pending:
        _escalate(out, pending, None)
    state.status = "completed"
    state.current = None
    state.ended_by = kind
    out.emit(CheckInCompleted(Severity(state.severity), ended_by=kind))
    out.emit(WakeAt(None))


def _escalate(out: _Out, findings: list[Finding], text: str | None) -> None:
    state = out.state
    for finding in findings:
        if finding.rule_id not in state.reported:
            state.reported.append(finding.rule_id)
    alerting = tuple(f for f in findings if f.severity > Severity.NONE)
    if alerting:
        state.severity = max(state.severity, int(highest(alerting)))
        out.emit(EscalationRaised(alerting, highest(alerting), text))


def _record_free_text(out: _Out, text: str, env: ConversationEnv) -> None:
    """A red-flag message given as the answer to a free-text question is still its answer."""
    state = out.state
    if state.current is None or env.program.question(state.current).type != "text":
        return
    state.answers[state.current] = text.strip()
    out.emit(AnswerRecorded(state.current, text.strip(), text))


def _rules(env: ConversationEnv, state: ConversationState) -> list[Finding]:
    if env.rule_context is None:
        return []
    return list(evaluate(env.program, state.answers, env.rule_context))


def _immediate(env: ConversationEnv) -> set[str]:
    program = env.program
    rules = [r for q in program.questions for r in q.rules]
    rules += [r for t in program.totals for r in t.rules]
    return {r.id for r in rules if r.immediate}


def _new_findings(state: ConversationState, findings: Iterable[Finding]) -> list[Finding]:
    """Findings whose rule was not yet reported in this check-in (negated ones dropped)."""
    seen = set(state.reported)
    fresh: list[Finding] = []
    for finding in findings:
        if finding.negated or finding.rule_id in seen:
            continue
        if finding.severity == Severity.NONE and finding.response != "guidance":
            continue
        seen.add(finding.rule_id)
        fresh.append(finding)
    return fresh


def _ends_checkin(finding: Finding) -> bool:
    """An emergency ends the check-in at once; its advice is the reply (SPEC §5)."""
    return finding.severity == Severity.EMERGENCY


__all__ = [
    "CheckInDue",
    "Input",
    "KeywordReceived",
    "Reply",
    "ReplyTimeout",
    "step",
]


def _iso_le(moment: str, now: datetime) -> bool:
    parsed = parse_iso(moment)
    return parsed is not None and parsed <= now
