"""Check-in calls: each Twilio Voice webhook of a call steps the same conversation as an SMS.

A call is placed for an outbox row (the check-in's opening question or a reminder) by
``handlers.twilio_voice.TwilioVoice``; its webhooks carry that row's id. The flow::

    answer    machine → voicemail (team and number, no health detail), hang up
              person  → "press 1 if this is <first name>"
    identity  1 / yes → greeting, "press 9 to stop", the current question in a <Gather>
              else    → polite goodbye (logged, flagged when someone else answered)
    gather    keys or speech → Reply(text) through CheckIns.step (screening, keywords,
              parsing); the messages the step queued for this patient are said in the
              response and marked delivered with the call SID (the outbox never sends them);
              then the next <Gather>, the closing, or the emergency advice and <Dial>
    status    call progress → the call row's status and status_history

A ``<Gather>`` is answered in one transaction with its inbox row, keyed by (CallSid, message
count, retry), whose payload keeps the TwiML: a retried webhook gets the same TwiML and steps
nothing. Alerts the step queued for care managers are sent right after the commit, in the
background, so that the caller hears the reply at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from bot.applied import Applied
from bot.context import conversation_env
from bot.runtime import Runtime
from handlers.twilio_voice import (
    CONFIRM_KEY,
    GATHER_PATH,
    IDENTITY_PATH,
    CallScript,
    Heard,
    Keypad,
    dialable,
    hang_up,
    keypad_for,
    parse_heard,
    parse_report,
    speech_voice,
    spoken_phone,
    spoken_question,
)
from outreach.conversation import ConversationEnv, ConversationState, Reply
from outreach.conversation.replies import Replies
from outreach.locale import crisis_text
from outreach.parsing.yesno import read_yes_no
from outreach.texts import text
from storage.models import CheckIn, Message, OutboxItem, Patient
from storage.repositories.checkins import CheckInRepository
from storage.repositories.enrollments import EnrollmentRepository
from storage.repositories.inbox import InboxRepository
from storage.repositories.messages import MessageRepository, advance_status
from storage.repositories.outbox import OutboxRepository
from storage.repositories.patients import PatientRepository

log = logging.getLogger(__name__)

PROVIDER = "twilio_voice"
CALL_KINDS = ("question", "reminder")
MAX_RETRIES = 2
"""Prompts of one question that may go unanswered (silence, a key that means nothing) before
the call ends; the reminders call again."""
WHO_KEYPAD = Keypad(True, "", {CONFIRM_KEY: "yes"}, "yes, no")
SAFETY_ENDINGS = ("emergency", "crisis")


@dataclass(frozen=True, slots=True)
class Turn:
    """Where a question's ``<Gather>`` was asked: the question, the check-in's message count
    then (``n``) and how many prompts of it went unanswered before (``t``)."""

    question: str
    n: int
    t: int = 0


@dataclass(frozen=True, slots=True)
class _Ask:
    prompt: str
    keypad: Keypad
    action: str


@dataclass(frozen=True, slots=True)
class _Connect:
    number: str | None
    after: str


_Ending = _Ask | _Connect | None
"""What follows the said messages: a question, the care team on the line, or hanging up."""


@dataclass
class _Call:
    """One call's webhook, loaded in its transaction."""

    sid: str
    item: OutboxItem
    patient: Patient
    checkin: CheckIn | None
    env: ConversationEnv
    script: CallScript

    @property
    def lang(self) -> str:
        return self.patient.language

    def state(self) -> ConversationState | None:
        return ConversationState.from_json(self.checkin.state) if self.checkin else None

    def current(self) -> ConversationState | None:
        """The conversation state while its check-in is in progress with a question open."""
        state = self.state()
        in_progress = self.checkin is not None and self.checkin.status == "in_progress"
        return state if in_progress and state is not None and state.current else None


class VoiceCalls:
    """Answers the webhooks of check-in calls (``bot/web/voice.py`` routes them here)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self._tasks: set[asyncio.Task[None]] = set()

    # -- webhooks -----------------------------------------------------------------------------

    async def answer(self, outbox_id: int, form: Mapping[str, str]) -> str:
        """The call was picked up: voicemail message, or ask who is there."""
        report = parse_report(form)
        async with self.runtime.db.transaction() as session:
            call = await self._load(session, outbox_id, report.call_sid)
            if call is None:
                return hang_up()
            _note(call.item.message, f"answered by {report.answered_by or 'unknown'}", self._now())
            words = call.script.words
            team = self.settings.care_team_name
            if report.machine:
                phone = self.settings.care_team_phone
                said = (
                    words("voicemail", team=team, phone=spoken_phone(phone, self._region))
                    if phone
                    else words("voicemail_no_phone", team=team)
                )
                return await self._respond(session, call, [], [said], None, "voicemail")
            who = words("who", team=team, first_name=call.env.patient.first_name)
            ask = _Ask(who, WHO_KEYPAD, self._url(IDENTITY_PATH, outbox=outbox_id))
            return await self._respond(session, call, [], [], ask, "who")

    async def identity(self, outbox_id: int, form: Mapping[str, str]) -> str:
        """1 (or "yes") → the check-in; anything else → goodbye with no health content."""
        heard = parse_heard(form)
        async with self.runtime.db.transaction() as session:
            call = await self._load(session, outbox_id, heard.call_sid)
            if call is None:
                return hang_up()
            confirmed = heard.digits == CONFIRM_KEY or (
                not heard.digits and read_yes_no(heard.speech) is True
            )
            if not heard.empty:
                # Someone said they are not the patient: the care team should know.
                other = heard.digits not in ("", CONFIRM_KEY) or read_yes_no(heard.speech) is False
                reply = "yes" if confirmed else None
                await self._log_heard(session, call, "who", heard, reply, flagged=other)
            if not confirmed:
                log.info("voice call %s: not confirmed as the patient", call.sid)
                goodbye = call.script.words("not_patient")
                return await self._respond(session, call, [], [goodbye], None, "not_patient")
            return await self._open(session, call)

    async def gather(self, outbox_id: int, turn: Turn, form: Mapping[str, str]) -> str:
        """An answer to a question: step the conversation once, however often it arrives."""
        heard = parse_heard(form)
        applied = Applied()
        now = self._now()
        async with self.runtime.db.transaction() as session:
            inbox = InboxRepository(session)
            key = f"{heard.call_sid}:{turn.n}:{turn.t}"
            row_id, new = await inbox.record_webhook(PROVIDER, key, {"form": dict(form)}, now)
            row = await inbox.get(row_id)
            assert row is not None
            stored = row.payload.get("twiml")
            if not new and isinstance(stored, str):
                log.info("voice gather %s replayed: same answer", key)
                return stored
            call = await self._load(session, outbox_id, heard.call_sid)
            if call is None:
                twiml = hang_up()
            elif new:
                twiml = await self._turn(session, call, turn, heard, applied)
            else:
                twiml = await self._resume(session, call, f"{turn.n}:{turn.t}")
            row.payload = {**row.payload, "twiml": twiml}
            row.processed_at = now
        self._after_commit(applied)
        return twiml

    async def status(self, outbox_id: int, form: Mapping[str, str]) -> None:
        """A call status callback: the call row's status and history (order-safe)."""
        report = parse_report(form)
        now = self._now()
        async with self.runtime.db.transaction() as session:
            item = await OutboxRepository(session).get(outbox_id)
            if item is None or item.message.provider_id not in (None, report.call_sid):
                log.warning("voice status for call %s matches no call row", report.call_sid)
                return
            message = item.message
            duration = f" {report.duration}s" if report.duration else ""
            _note(message, f"call {report.status}{duration}", now)
            mapped = report.log_status
            if mapped is not None:
                failed = mapped in ("undelivered", "failed")
                code = report.error_code or (report.status if failed else None)
                advance_status(message, mapped, now, code)
        log.info("voice call %s status %s%s", report.call_sid, report.status, duration)

    async def drain(self) -> None:
        """Wait for the sends started after commits (shutdown)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=10)

    # -- the conversation ---------------------------------------------------------------------

    async def _open(self, session: AsyncSession, call: _Call) -> str:
        """The patient confirmed: greet and ask the question the check-in is waiting on."""
        kind = call.item.message.kind
        if kind not in CALL_KINDS:
            # A message for a voice patient outside a call (advice after a text): said, goodbye.
            return await self._respond(session, call, [], [call.item.body], None, "said")
        state = call.current()
        if state is None:
            nothing = call.script.words("nothing_due")
            return await self._respond(session, call, [], [nothing], None, "nothing_due")
        env = call.env
        greeting = text(
            "greeting", call.lang, first_name=env.patient.first_name, team=env.team_name
        )
        intro = env.program.intro.get(call.lang) if env.program.intro else ""
        said = [greeting, intro, call.script.words("stop_hint")]
        return await self._respond(session, call, [], said, self._ask(call, state, 0), "opening")

    async def _turn(
        self, session: AsyncSession, call: _Call, turn: Turn, heard: Heard, applied: Applied
    ) -> str:
        state = call.current()
        if state is None or state.seq != turn.n or state.current != turn.question:
            return await self._resume(session, call, f"{turn.n}:{turn.t}")
        assert call.checkin is not None
        keypad = keypad_for(call.env.program.question(turn.question), call.lang)
        reply = keypad.reply(heard.digits) if heard.digits else heard.speech
        if not reply:
            return await self._retry(session, call, state, turn, heard)
        await self._log_heard(session, call, str(turn.n), heard, reply)
        result = await self.runtime.checkins.step(
            session, call.checkin, Reply(reply), self._now(), patient=call.patient
        )
        items = await self._take_said(session, call, result)
        applied.merge(result)
        after = call.state()
        assert after is not None
        said = [self._spoken(call, item, after) for item in items]
        return await self._respond(session, call, items, said, self._ending(call), str(turn.n))

    async def _retry(
        self, session: AsyncSession, call: _Call, state: ConversationState, turn: Turn, heard: Heard
    ) -> str:
        """Silence or a key that means nothing: ask again, or end the call after a few."""
        key = f"{turn.n}:{turn.t}"
        words = call.script.words
        if not heard.empty:
            await self._log_heard(session, call, key, heard, None)
        if turn.t >= MAX_RETRIES:
            log.info("voice call %s: no answer to %s, call ended", call.sid, turn.question)
            return await self._respond(session, call, [], [words("call_later")], None, key)
        sorry = words("not_heard" if heard.empty else "not_understood")
        return await self._respond(
            session, call, [], [sorry], self._ask(call, state, turn.t + 1), key
        )

    async def _resume(self, session: AsyncSession, call: _Call, key: str) -> str:
        """A ``<Gather>`` the conversation has moved past: ask what is open now, or end."""
        state = call.current()
        if state is None:
            nothing = call.script.words("nothing_due")
            return await self._respond(session, call, [], [nothing], None, f"{key}:late")
        return await self._respond(session, call, [], [], self._ask(call, state, 0), f"{key}:late")

    def _ask(self, call: _Call, state: ConversationState, retries: int) -> _Ask:
        assert state.current is not None
        question = call.env.program.question(state.current)
        preface = crisis_text(call.env.patient.locale, call.lang) if question.preface else ""
        prompt = spoken_question(question, call.lang, preface)
        action = self._url(
            GATHER_PATH, outbox=call.item.id, q=state.current, n=state.seq, t=retries
        )
        return _Ask(prompt, keypad_for(question, call.lang), action)

    def _ending(self, call: _Call) -> _Ending:
        state = call.current()
        if state is not None:
            return self._ask(call, state, 0)
        ended = call.state()
        if ended is not None and ended.ended_by in SAFETY_ENDINGS:
            emergency = call.env.patient.locale.emergency
            number = dialable(self.settings.care_team_phone, self._region)
            return _Connect(number, call.script.words("call_now", emergency=emergency))
        return None

    def _spoken(self, call: _Call, item: OutboxItem, state: ConversationState) -> str:
        """An engine message as said on the phone: the SMS question text (said by the next
        ``<Gather>`` with its keypad instructions) left out, SMS-only wording replaced."""
        words, replies = call.script.words, Replies(call.env)
        kind, body = item.message.kind, item.body
        team = self.settings.care_team_name
        if kind == "stop_confirm":
            return words("stopped", team=team)
        if kind == "help":
            return words("help", program=call.env.program.name.get(call.lang), team=team)
        body = body.replace(replies.stop_confirm(), words("stopped", team=team))
        asked = False
        if state.current is not None:
            for written in (replies.then_question(state.current), replies.question(state.current)):
                if written in body:
                    body, asked = body.replace(written, "").strip(), True
                    break
        if kind == "reask" and not asked:
            return words("not_understood")
        return body

    # -- the contact log ----------------------------------------------------------------------

    async def _respond(
        self,
        session: AsyncSession,
        call: _Call,
        items: Sequence[OutboxItem],
        said: Sequence[str],
        ending: _Ending,
        key: str,
    ) -> str:
        """The TwiML that says ``said`` and then ``ending``; logged in the step's own rows
        (``items``, one said part each, marked delivered) or as one said row."""
        words = call.script.words
        if isinstance(ending, _Ask):
            twiml = call.script.ask(said, ending.prompt, ending.keypad, ending.action)
            extra = [ending.prompt]
        elif isinstance(ending, _Connect):
            twiml = call.script.connect(said, ending.number, ending.after)
            extra = [words("connecting")] if ending.number else []
            extra.append(ending.after)
        else:
            twiml = call.script.say_all(said)
            extra = []
        outbox, now = OutboxRepository(session), self._now()
        if not items:
            await self._said(session, call, key, Replies.join(*said, *extra))
            return twiml
        for index, (item, part) in enumerate(zip(items, said, strict=True)):
            body = Replies.join(part, *extra) if index == len(items) - 1 else part
            item.body = item.message.body = body
            await outbox.mark_sent(item.id, call.sid, now, status="delivered")
        return twiml

    async def _take_said(
        self, session: AsyncSession, call: _Call, result: Applied
    ) -> list[OutboxItem]:
        """The messages the step queued for this patient: said now, never sent by the outbox."""
        items = await OutboxRepository(session).get_many(result.deliver_now)
        mine = [i for i in items if i.address == call.item.address]
        taken = {i.id for i in mine}
        result.deliver_now = [i for i in result.deliver_now if i not in taken]
        return mine

    async def _said(self, session: AsyncSession, call: _Call, key: str, body: str) -> None:
        """Log words the call said that no conversation message holds (greeting, goodbye)."""
        if not body:
            return
        queued = await MessageRepository(session).queue_outbound(
            channel="voice",
            address=call.item.address,
            body=body,
            idempotency_key=f"voice:{call.sid}:{key}"[:160],
            at=self._now(),
            kind="call",
            patient_id=call.patient.id,
            checkin_id=call.checkin.id if call.checkin else None,
            language=call.lang,
        )
        if queued is not None:
            await OutboxRepository(session).mark_sent(
                queued.outbox.id, call.sid, self._now(), status="delivered"
            )

    async def _log_heard(
        self,
        session: AsyncSession,
        call: _Call,
        key: str,
        heard: Heard,
        reply: str | None,
        *,
        flagged: bool = False,
    ) -> None:
        """An answer in the contact log; its external id is the call SID and the turn."""
        if heard.digits:
            meaning = f" ({reply})" if reply and reply != heard.digits else ""
            body = f"pressed {heard.digits}{meaning}"
        else:
            body = heard.speech
        await MessageRepository(session).log_inbound(
            channel="voice",
            address=call.item.address,
            body=body,
            external_id=f"{call.sid}:{key}",
            at=self._now(),
            patient_id=call.patient.id,
            checkin_id=call.checkin.id if call.checkin else None,
            flagged=flagged,
        )

    # -- plumbing -----------------------------------------------------------------------------

    async def _load(self, session: AsyncSession, outbox_id: int, call_sid: str) -> _Call | None:
        item = await OutboxRepository(session).get(outbox_id)
        patient_id = item.message.patient_id if item is not None else None
        if item is None or patient_id is None or not item.address.startswith("voice:"):
            log.warning("voice call %s: outbox row %s is no call", call_sid, outbox_id)
            return None
        patient = await PatientRepository(session).require(patient_id)
        checkin_id = item.message.checkin_id
        checkin = await CheckInRepository(session).get(checkin_id) if checkin_id else None
        program_id = checkin.program_id if checkin else await self._program_of(session, patient)
        programs = self.runtime.programs
        program = programs.get(program_id) or next(iter(programs.values()))
        env = conversation_env(self.settings, program, patient, rules=None, next_checkin=None)
        voice = speech_voice(patient.language, env.patient.locale.country)
        return _Call(call_sid, item, patient, checkin, env, CallScript(voice, patient.language))

    async def _program_of(self, session: AsyncSession, patient: Patient) -> str:
        enrollments = await EnrollmentRepository(session).for_patient(patient.id)
        return enrollments[0].program_id if enrollments else "general"

    def _after_commit(self, applied: Applied) -> None:
        if not (applied.deliver_now or applied.edits):
            return
        task = asyncio.create_task(self._send(applied))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, applied: Applied) -> None:
        try:
            await self.runtime.after_commit(applied)
        except Exception:
            # Committed rows stay pending: the outbox tick sends them.
            log.exception("voice: sending after the commit failed; the outbox tick retries")

    def _url(self, path: str, **query: object) -> str:
        return f"{self.settings.public_base_url}{path}?{urlencode(query)}"

    def _now(self) -> datetime:
        return self.runtime.clock.now()

    @property
    def _region(self) -> str:
        return self.settings.default_region


def _note(message: Message, note: str, at: datetime) -> None:
    """Add a call event to the row's status history once (a retried webhook adds nothing).

    A new list: the column is plain JSON, so in-place changes would not be saved."""
    history = list(message.status_history or [])
    if not any(entry[0] == note for entry in history):
        message.status_history = [*history, [note, at.isoformat()]]
