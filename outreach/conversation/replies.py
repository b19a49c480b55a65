"""The messages a conversation sends, built from the program, the locale and the wording."""

from __future__ import annotations

from collections.abc import Sequence

from outreach.conversation.env import ConversationEnv
from outreach.conversation.render import render_question
from outreach.findings import Finding
from outreach.locale import crisis_text, emergency_text
from outreach.parsing import expected_format
from outreach.texts import text


class Replies:
    """Wording for one patient's conversation (their language, locale and care team)."""

    def __init__(self, env: ConversationEnv) -> None:
        self.env = env
        self.lang = env.patient.language

    def _t(self, key: str, **values: str) -> str:
        phone = self.env.team_phone
        return text(
            key,
            self.lang,
            team=self.env.team_name,
            first_name=self.env.patient.first_name,
            phone_part=f" ({phone})" if phone else "",
            **values,
        )

    @staticmethod
    def join(*parts: str) -> str:
        return " ".join(p for p in parts if p)

    def question(self, question_id: str) -> str:
        question = self.env.program.question(question_id)
        body = render_question(question, self.lang)
        if question.preface == "crisis":
            return self.join(crisis_text(self.env.patient.locale, self.lang), body)
        return body

    def opening(self, question_id: str) -> str:
        intro = self.env.program.intro.get(self.lang) if self.env.program.intro else ""
        return self.join(self._t("greeting"), intro, self.question(question_id))

    def hint(self, question_id: str) -> str:
        return expected_format(self.env.program.question(question_id), self.lang)

    def reask(self, hint: str) -> str:
        return self._t("reask", hint=hint)

    def then_question(self, question_id: str) -> str:
        return self._t("then_question", question=self.question(question_id))

    def moving_on(self) -> str:
        return self._t("moving_on")

    def reminder(self, question_id: str) -> str:
        return self._t("reminder", question=self.question(question_id))

    def closing(self, *, flagged: bool) -> str:
        thanks = self._t("closing_flagged" if flagged else "closing")
        if not self.env.next_checkin:
            return thanks
        return self.join(thanks, self._t("next_checkin", next_date=self.env.next_checkin))

    def stop_confirm(self) -> str:
        return self._t("stop_confirm")

    def start_confirm(self) -> str:
        return self._t("start_confirm")

    def unmatched(self) -> str:
        return self._t("unmatched")

    def help_text(self) -> str:
        return self._t(
            "help",
            program=self.env.program.name.get(self.lang),
            frequency=self._t("frequency_monthly"),
        )

    def help_then(self, current: str | None) -> str:
        if current is None:
            return self.help_text()
        return self.join(
            self.help_text(), self._t("help_continue", question=self.question(current))
        )

    def advice_for(self, findings: Sequence[Finding]) -> str:
        """Advice for someone else's emergency, or guidance for a hypothetical one."""
        emergency = self.env.patient.locale.emergency
        if any(f.response == "emergency_other" for f in findings):
            return self._t("other_person", emergency=emergency)
        if any(f.response == "guidance" for f in findings):
            return self._t("guidance", emergency=emergency)
        return ""

    def safety(self, findings: Sequence[Finding]) -> str:
        """The EMERGENCY and/or CRISIS reply (CLINICAL §2) with its additions."""
        locale = self.env.patient.locale
        responses = {f.response for f in findings}
        categories = {f.category for f in findings}
        crisis_only = responses & {"crisis"} and not responses & {"emergency"}
        parts: list[str] = []
        if "emergency" in responses or not crisis_only:
            parts.append(emergency_text(locale, self.lang))
            if "stroke" in categories:
                parts.append(self._t("stroke_time"))
            if "overdose" in categories and locale.poison:
                parts.append(self._t("poison", poison=locale.poison))
        if "crisis" in responses:
            parts.append(crisis_text(locale, self.lang))
        return self.join(*parts)
