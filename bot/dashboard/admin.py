"""Team pages: users and passwords (admins), API tokens (admins), the on-call rota (supervisors
and admins edit it, everyone reads it) and the panel report."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date
from zoneinfo import ZoneInfo

from markupsafe import Markup
from sqlalchemy import select
from starlette.responses import Response

from bot.dashboard import audit, records
from bot.dashboard.web import Page, clean, row_id
from bot.importing.csvfile import CsvRow
from bot.importing.fields import e164, parse_email, parse_phone, parse_zone
from bot.importing.rows import ROLES, ROTA_COLUMNS, validate_rota
from bot.passwords import check_strength, hash_password
from bot.reporting import panel_report
from bot.reporting.page import acknowledgement_chart, checkins_chart
from bot.reporting.terminal import minutes
from outreach.errors import NotFound
from outreach.schedule import RUNGS
from storage.models import ApiToken, CareManager, OncallRota
from storage.repositories.api_tokens import ApiTokenRepository
from storage.repositories.managers import ManagerRepository
from storage.repositories.rota import RotaEntry, RotaRepository

BLANK_ROTA_ROWS = 3


# -- users --------------------------------------------------------------------------------------


async def users(page: Page, errors: list[str] | None = None, status: int = 200) -> Response:
    page.access.require_admin()
    people = await records.managers(page.session, active=False)
    return page.render(
        "users.html", status, people=people, roles=ROLES, errors=errors or [], values=page.form
    )


async def create_user(page: Page) -> Response:
    page.access.require_admin()
    errors: list[str] = []
    phone: str | None = None
    try:
        email = parse_email(page.field("email"))
        zone = parse_zone(page.field("timezone") or page.dashboard.server.settings.default_timezone)
        if page.field("phone"):
            region = page.dashboard.server.settings.default_region
            phone = e164(parse_phone(page.field("phone"), region))
        check_strength(page.secret("password"))
    except ValueError as exc:
        errors.append(str(exc))
        email = zone = ""
    name, role = page.field("name")[:200], page.field("role")
    if not name:
        errors.append("name is empty")
    if role not in ROLES:
        errors.append(f"role must be one of {', '.join(ROLES)}")
    repo = ManagerRepository(page.session)
    if email and await repo.by_email(email) is not None:
        errors.append(f"{email} has an account already")
    if errors:
        return await users(page, errors, 422)
    manager, _ = await repo.upsert_by_email(
        email, name=name, at=page.now, phone=phone, role=role, timezone=zone
    )
    password_hash = await asyncio.to_thread(hash_password, page.secret("password"))
    await repo.set_password_hash(manager.id, password_hash)
    backup = page.field("backup")
    backup_id = row_id(backup)
    if backup_id is not None and backup_id != manager.id and await repo.get(backup_id):
        await repo.set_backup(manager.id, backup_id)
    await _audit(page, "user.created", manager.id)
    return page.redirect("/users", f"Account {email} created.")


async def reset_password(page: Page) -> Response:
    page.access.require_admin()
    manager = await _manager(page)
    password = page.secret("password")
    try:
        check_strength(password)
    except ValueError as exc:
        return page.redirect("/users", f"Password not changed: {exc}")
    password_hash = await asyncio.to_thread(hash_password, password)  # slow on purpose
    await ManagerRepository(page.session).set_password_hash(manager.id, password_hash)
    await _audit(page, "user.password_reset", manager.id)
    return page.redirect("/users", f"Password of {manager.email} reset.")


async def set_active(page: Page) -> Response:
    page.access.require_admin()
    manager = await _manager(page)
    active = page.field("active") == "1"
    if manager.id == page.actor.id and not active:
        return page.redirect("/users", "You cannot deactivate your own account.")
    await ManagerRepository(page.session).set_active(manager.id, active)
    await _audit(page, "user.activated" if active else "user.deactivated", manager.id)
    return page.redirect("/users", f"{manager.email} {'activated' if active else 'deactivated'}.")


async def _manager(page: Page) -> CareManager:
    manager = await page.session.get(CareManager, page.path_id("manager_id"))
    if manager is None:
        raise NotFound("no such user")
    return manager


async def _audit(page: Page, action: str, manager_id: int) -> None:
    await audit.record(
        page.session, page.actor, page.now, action, entity_type="care_manager", entity_id=manager_id
    )


# -- API tokens ---------------------------------------------------------------------------------


async def tokens(page: Page, new_token: str = "", status: int = 200) -> Response:
    page.access.require_admin()
    rows = await page.session.execute(
        select(ApiToken, CareManager.email)
        .join(CareManager, CareManager.id == ApiToken.care_manager_id)
        .order_by(ApiToken.id)
    )
    return page.render(
        "tokens.html",
        status,
        tokens=list(rows),
        people=await records.managers(page.session),
        new_token=new_token,
    )


async def create_token(page: Page) -> Response:
    page.access.require_admin()
    owner = page.field("manager_id")
    owner_id = row_id(owner)
    manager = await page.session.get(CareManager, owner_id) if owner_id else None
    if manager is None or not manager.active:
        return page.redirect("/tokens", "Choose an active user for the token.")
    name = page.field("name")[:100] or "API token"
    token, row = await ApiTokenRepository(page.session).create(manager.id, name, at=page.now)
    await audit.record(
        page.session,
        page.actor,
        page.now,
        "api_token.created",
        entity_type="api_token",
        entity_id=row.id,
        detail={"owner": manager.id},
    )
    return await tokens(page, new_token=token)


async def revoke_token(page: Page) -> Response:
    page.access.require_admin()
    token_id = page.path_id("token_id")
    if await ApiTokenRepository(page.session).revoke(token_id, page.now):
        await audit.record(
            page.session,
            page.actor,
            page.now,
            "api_token.revoked",
            entity_type="api_token",
            entity_id=token_id,
        )
    return page.redirect("/tokens", f"Token {token_id} revoked.")


# -- on-call rota ---------------------------------------------------------------------------------


async def rota(page: Page, errors: list[str] | None = None, status: int = 200) -> Response:
    people = await records.managers(page.session, active=False)
    emails = {m.id: m.email for m in people}
    entries: list[dict[str, str]] = []
    if page.form is not None and errors:
        entries = _posted_rows(page)
    else:
        for row in await RotaRepository(page.session).list_all():
            entries.append(_entry_values(row, emails))
    blank = dict.fromkeys(ROTA_COLUMNS, "")
    entries += [dict(blank) for _ in range(BLANK_ROTA_ROWS)]
    return page.render(
        "rota.html",
        status,
        entries=entries,
        people=[m for m in people if m.active],
        rungs=RUNGS,
        errors=errors or [],
        editable=page.actor.edits_rota,
    )


def _entry_values(row: OncallRota, emails: dict[int, str]) -> dict[str, str]:
    return {
        "email": emails.get(row.care_manager_id, ""),
        "days": row.days,
        "start": row.start,
        "end": row.end,
        "timezone": row.timezone,
        "rung": row.rung,
    }


def _posted_rows(page: Page) -> list[dict[str, str]]:
    assert page.form is not None
    columns = {name: page.form.getlist(name) for name in ROTA_COLUMNS}
    count = max((len(values) for values in columns.values()), default=0)
    rows = []
    for index in range(count):
        values = {
            name: clean(str(columns[name][index])) if index < len(columns[name]) else ""
            for name in ROTA_COLUMNS
        }
        if any(values[name] for name in ("email", "days", "start", "end")):
            rows.append(values)
    return rows


async def save_rota(page: Page) -> Response:
    page.access.require_rota_editor()
    posted = _posted_rows(page)
    if not posted:
        return await rota(page, ["the rota needs at least one entry"], 422)
    statement = select(CareManager.email, CareManager.id, CareManager.active)
    managers = {
        email.lower(): (manager_id, active)
        for email, manager_id, active in (await page.session.execute(statement))
    }
    rows = [CsvRow(index + 1, values) for index, values in enumerate(posted)]
    checked = validate_rota(rows, page.dashboard.server.settings.default_timezone, managers)
    if checked.bad:
        errors = [f"row {bad.line}: " + "; ".join(bad.reasons) for bad in checked.bad]
        return await rota(page, errors, 422)
    entries = [
        RotaEntry(r.care_manager_id, r.days, r.start, r.end, r.timezone, r.rung)
        for r in checked.good
    ]
    await RotaRepository(page.session).replace_all(entries, at=page.now)
    await audit.record(
        page.session,
        page.actor,
        page.now,
        "rota.replaced",
        entity_type="oncall_rota",
        detail={"entries": len(entries)},
    )
    return page.redirect("/rota", f"Rota saved ({len(entries)} entries).")


# -- panel report ---------------------------------------------------------------------------------


async def report(page: Page) -> Response:
    """``carebot report``'s figures (bot.reporting), for the actor's own panel or, for
    supervisors and admins, every panel. Aggregates only: no patient is shown or audited."""
    actor, db = page.actor, page.dashboard.server.db
    month = _month(page.query("month")) or page.now.astimezone(ZoneInfo(actor.timezone)).date()

    async def build() -> Response:
        # After the page's transaction: the report reads in a session of its own.
        figures = await panel_report(db, month, timezone=actor.timezone)
        if not actor.sees_all:
            own = [p for p in figures.panels if p.manager_id == actor.id]
            total = own[0] if own else replace(figures.total, name=actor.name)
            figures = replace(figures, panels=own, total=total)
        return page.render(
            "report.html",
            report=figures,
            minutes=minutes,
            charts=[Markup(checkins_chart(figures)), Markup(acknowledgement_chart(figures))]
            if figures.panels
            else [],
        )

    page.later(build)
    return page.redirect("/report")  # replaced by build()


def _month(text: str) -> date | None:
    """``YYYY-MM`` (the month input) → its first day; None when empty or not a month."""
    try:
        return date.fromisoformat(text + "-01") if text else None
    except ValueError:
        return None
