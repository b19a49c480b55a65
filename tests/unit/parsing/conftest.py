"""Questions for parsing tests, built like the ones in the built-in programs."""

from __future__ import annotations

from outreach.programs import Question, builtin_programs


def question(program_id: str, question_id: str) -> Question:
    return builtin_programs()[program_id].question(question_id)
