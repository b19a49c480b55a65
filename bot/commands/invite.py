"""``carebot invite``: a one-time Telegram deep link for a patient, family contact or manager."""

from __future__ import annotations

from dataclasses import dataclass

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.links import create_invite
from handlers.telegram import build_telegram
from outreach.clock import SystemClock
from outreach.errors import ConfigurationError, NotFound, PatientNotFound
from storage.engine import Database
from storage.migrate import check_schema
from storage.repositories.family import FamilyContactRepository
from storage.repositories.managers import ManagerRepository
from storage.repositories.patients import PatientRepository

_PATIENT = typer.Argument(
    None, metavar="EXTERNAL_ID", help="The patient's external id.", show_default=False
)
_FAMILY = typer.Option(
    None,
    "--family",
    min=1,
    metavar="N",
    help="Invite the patient's N-th family contact (1-based, in id order).",
)
_MANAGER = typer.Option(
    None, "--manager", metavar="EMAIL", help="Invite the care manager with this e-mail."
)


@dataclass(frozen=True, slots=True)
class Target:
    """Whom an invite is for: exactly one id is set; ``label`` names it by ids only."""

    label: str
    patient_id: int | None = None
    family_contact_id: int | None = None
    manager_id: int | None = None
    note: str | None = None


def invite(
    external_id: str | None = _PATIENT,
    family: int | None = _FAMILY,
    manager: str | None = _MANAGER,
) -> None:
    """Print a Telegram invite link (single use, expiring) as the last line of output."""
    from bot.cli import fail, run, settings  # bot.cli wires this callback: import it late

    if family is not None and external_id is None:
        fail("--family needs the patient's EXTERNAL_ID")
    if (external_id is None) == (manager is None):
        fail("give either a patient's EXTERNAL_ID or --manager EMAIL")
    config = settings()
    target, link = run(_invite(config, external_id, family, manager))
    if target.note:
        typer.echo(f"note: {target.note}", err=True)
    expires = f"{config.invite_ttl_days:g} day" + ("" if config.invite_ttl_days == 1 else "s")
    typer.echo(f"Telegram invite for {target.label} (single use, expires in {expires}):")
    typer.echo(link)


async def _invite(
    config: Settings, external_id: str | None, family: int | None, manager: str | None
) -> tuple[Target, str]:
    """Find the target, ask for the bot's username, then store the code: a failure before the
    last step leaves no unused code behind."""
    async with Database.from_url(config.db_url) as db:
        await check_schema(db.engine)
        async with db.session() as session:
            if manager is not None:
                target = await _manager(session, manager)
            else:
                assert external_id is not None
                target = await _patient(session, external_id, family)
        username = await bot_username(config)
        now = SystemClock().now()
        async with db.transaction() as session:
            code = await create_invite(
                session,
                config,
                now,
                patient_id=target.patient_id,
                family_contact_id=target.family_contact_id,
                manager_id=target.manager_id,
            )
    return target, deep_link(username, code)


async def _patient(session: AsyncSession, external_id: str, family: int | None) -> Target:
    patient = await PatientRepository(session).by_external_id(external_id)
    if patient is None:
        raise PatientNotFound(f"no patient with external id {external_id!r}")
    if family is None:
        note = None
        if patient.channel != "telegram":
            note = (
                f"patient {external_id}'s channel is {patient.channel}: check-ins keep going "
                "there after they link Telegram until their channel is changed"
            )
        return Target(f"patient {external_id}", patient_id=patient.id, note=note)
    contacts = await FamilyContactRepository(session).for_patient(patient.id)
    if family > len(contacts):
        count = f"{len(contacts)} family contact" + ("" if len(contacts) == 1 else "s")
        raise NotFound(f"patient {external_id} has {count}; there is no --family {family}")
    contact = contacts[family - 1]
    return Target(
        f"family contact {family} ({contact.id}) of patient {external_id}",
        family_contact_id=contact.id,
    )


async def _manager(session: AsyncSession, email: str) -> Target:
    manager = await ManagerRepository(session).by_email(email)
    if manager is None:
        raise NotFound(f"no care manager with e-mail {email.strip().lower()!r}")
    if not manager.active:
        raise NotFound(f"care manager {manager.id} is deactivated")
    return Target(f"care manager {manager.id}", manager_id=manager.id)


async def bot_username(config: Settings) -> str:
    """``TELEGRAM_BOT_USERNAME``, else the bot's username from Telegram's getMe."""
    if config.telegram_bot_username:
        return config.telegram_bot_username.lstrip("@")
    if not config.telegram_bot_token:
        raise ConfigurationError(
            "TELEGRAM_BOT_USERNAME or TELEGRAM_BOT_TOKEN must be set for invite links"
        )
    channel = build_telegram(config.telegram_bot_token, api_base_url=config.telegram_api_base_url)
    await channel.start()  # getMe; raises a DeliveryError (one line) on a bad token or no network
    try:
        return await channel.username()
    finally:
        await channel.stop()


def deep_link(username: str, code: str) -> str:
    """``https://t.me/<bot>?start=<code>``: opening it sends ``/start <code>`` to the bot."""
    return f"https://t.me/{username}?start={code}"
