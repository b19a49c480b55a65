"""The escalation queue page and its acknowledge / resolve forms."""

from __future__ import annotations

import logging

from starlette.responses import Response

from bot.applied import Applied
from bot.dashboard import queue, records
from bot.dashboard.web import PREFIX, Later, Page, row_id
from outreach.errors import Conflict
from storage.repositories.escalations import ACTIVE

log = logging.getLogger(__name__)
VIEWS = {"active": ACTIVE, "open": ("open",), "acknowledged": ("acknowledged",)}


async def queue_page(page: Page) -> Response:
    manager = page.query("manager")
    view = page.query("view", "active")
    statuses = VIEWS.get(view, ACTIVE)
    items = await queue.queue(
        page.session,
        page.actor,
        page.now,
        manager_id=row_id(manager),
        statuses=statuses,
    )
    await page.audit_reads("patient.listed", [i.patient.id for i in items], view="queue")
    return page.render(
        "queue.html",
        items=items,
        managers=await records.managers(page.session),
        manager=manager,
        view=view if view in VIEWS else "active",
        views=VIEWS,
    )


def _back(page: Page) -> str:
    """Return to the page the form was on (the queue or a patient page)."""
    back = page.field("back")
    if back.startswith(PREFIX + "/") and "://" not in back and not back.startswith("//"):
        return back.removeprefix(PREFIX)
    return "/escalations"


def _escalation_id(page: Page) -> int:
    return page.path_id("escalation_id")


async def acknowledge(page: Page) -> Response:
    applied = Applied()
    escalation_id = _escalation_id(page)
    try:
        await queue.acknowledge(page.session, page.actor, page.now, escalation_id, applied)
    except Conflict as exc:
        return page.redirect(_back(page), str(exc))
    page.later(_edits(page, applied))
    return page.redirect(_back(page), f"Escalation #{escalation_id} acknowledged.")


async def resolve(page: Page) -> Response:
    applied = Applied()
    escalation_id = _escalation_id(page)
    note = page.field("note")
    try:
        await queue.resolve(page.session, page.actor, page.now, escalation_id, note, applied)
    except Conflict as exc:
        return page.redirect(_back(page), str(exc))
    page.later(_edits(page, applied))
    return page.redirect(_back(page), f"Escalation #{escalation_id} resolved.")


def _edits(page: Page, applied: Applied) -> Later:
    """After the commit: edit the Telegram alerts (a failure only leaves them unedited)."""
    runtime = page.dashboard.server.runtime

    async def run() -> str | None:
        try:
            await runtime.after_commit(applied)
        except Exception:
            log.warning("could not update the alerts of an escalation", exc_info=True)
        return None

    return run
