"""Logging set-up: ids only in our logs, and no third-party logger that prints secrets or PHI."""

from __future__ import annotations

import logging

# Loggers of libraries that log request bodies, phone numbers, SQL parameters or the Telegram
# bot token at INFO or DEBUG. They stay at WARNING whatever LOG_LEVEL says (SPEC §11).
QUIET = (
    "httpx",  # request URLs, which contain the Telegram bot token
    "httpcore",
    "twilio",  # twilio.http_client logs each request's form data: To, Body
    "telegram",  # PTB logs whole updates at DEBUG
    "sqlalchemy",  # SQL with bound parameters (message bodies, names, phones)
    "aiosqlite",
    "asyncpg",
    "apscheduler",
    "uvicorn.access",  # query strings
    "hpack",
    "urllib3",
    "aiohttp",
)


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    quiet_third_parties()


def quiet_third_parties() -> None:
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
