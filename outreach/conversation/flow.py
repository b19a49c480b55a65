"""Which question comes next: program order with skip logic over answers and score totals."""

from __future__ import annotations

from outreach.conversation.state import ConversationState
from outreach.programs.model import Program
from outreach.rules import compute_totals, should_ask


def next_question(program: Program, state: ConversationState) -> str | None:
    """The first question after the current one whose ``ask_if`` conditions all hold."""
    ids = [q.id for q in program.questions]
    start = 0
    if state.current is not None:
        start = ids.index(state.current) + 1
    elif state.asked:
        start = max(ids.index(q) for q in state.asked) + 1
    totals = compute_totals(program, state.answers)
    for question in program.questions[start:]:
        if should_ask(question, state.answers, totals):
            return question.id
    return None
