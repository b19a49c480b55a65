"""Settings: the only reader of the environment (and of ``.env``); tests pass a dict."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from outreach.errors import ConfigurationError

TWILIO_DEFAULT_BASE = "https://api.twilio.com"
TELEGRAM_DEFAULT_BASE = "https://api.telegram.org"


class Settings(BaseSettings):
    """Every setting of carebot; each field's alias is its environment variable.

    See ``.env.example`` and ``docs/configuration.md`` for what each one means.
    """

    model_config = SettingsConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    carebot_env: Literal["development", "production"] = Field("development", alias="CAREBOT_ENV")
    var_dir: Path = Field(Path("var"), alias="CAREBOT_VAR_DIR")
    database_url: str = Field("", alias="DATABASE_URL")
    database_statement_timeout: float = Field(
        30.0, alias="DATABASE_STATEMENT_TIMEOUT_SECONDS", gt=0
    )
    public_base_url: str = Field("http://127.0.0.1:8000", alias="PUBLIC_BASE_URL")
    secret_key: str | None = Field(None, alias="SECRET_KEY")
    log_level: str = Field("INFO", alias="LOG_LEVEL")

    twilio_account_sid: str | None = Field(None, alias="TWILIO_ACCOUNT_SID")
    twilio_auth_token: str | None = Field(None, alias="TWILIO_AUTH_TOKEN")
    twilio_from_number: str | None = Field(None, alias="TWILIO_FROM_NUMBER")
    twilio_messaging_service_sid: str | None = Field(None, alias="TWILIO_MESSAGING_SERVICE_SID")
    twilio_api_base_url: str = Field(TWILIO_DEFAULT_BASE, alias="TWILIO_API_BASE_URL")
    twilio_mps: float = Field(1.0, alias="TWILIO_MPS", gt=0)
    twilio_opt_out_managed: bool = Field(False, alias="TWILIO_OPT_OUT_MANAGED")
    worker_count: int = Field(1, alias="WORKER_COUNT", ge=1)

    telegram_bot_token: str | None = Field(None, alias="TELEGRAM_BOT_TOKEN")
    telegram_api_base_url: str = Field(TELEGRAM_DEFAULT_BASE, alias="TELEGRAM_API_BASE_URL")
    telegram_webhook_secret: str | None = Field(None, alias="TELEGRAM_WEBHOOK_SECRET")
    telegram_bot_username: str | None = Field(None, alias="TELEGRAM_BOT_USERNAME")

    default_timezone: str = Field("America/New_York", alias="DEFAULT_TIMEZONE")
    default_region: str = Field("US", alias="DEFAULT_REGION")
    alert_detail: Literal["full", "minimal"] = Field("full", alias="ALERT_DETAIL")
    care_team_name: str = Field("your care team", alias="CARE_TEAM_NAME")
    care_team_phone: str = Field("", alias="CARE_TEAM_PHONE")
    programs_dir: Path | None = Field(None, alias="PROGRAMS_DIR")

    contact_window: str = Field("09:00-20:00", alias="CONTACT_WINDOW")
    reminder_hours: str = Field("4,24", alias="REMINDER_HOURS")
    response_window_hours: float = Field(72, alias="RESPONSE_WINDOW_HOURS", gt=0)
    message_ttl_hours: float = Field(12, alias="MESSAGE_TTL_HOURS", gt=0)
    ack_emergency_minutes: float = Field(5, alias="ACK_EMERGENCY_MINUTES", gt=0)
    ack_urgent_minutes: float = Field(60, alias="ACK_URGENT_MINUTES", gt=0)
    ack_routine_business_days: int = Field(2, alias="ACK_ROUTINE_BUSINESS_DAYS", ge=1)
    invite_ttl_days: float = Field(7, alias="INVITE_TTL_DAYS", gt=0)
    dashboard_idle_minutes: float = Field(30, alias="DASHBOARD_IDLE_MINUTES", gt=0)
    sandbox: Literal["auto", "on", "off"] = Field("auto", alias="SANDBOX")
    dispatch_every_seconds: float = Field(20, alias="DISPATCH_EVERY_SECONDS", gt=0)
    checkins_every_seconds: float = Field(15, alias="CHECKINS_EVERY_SECONDS", gt=0)
    outbox_every_seconds: float = Field(1, alias="OUTBOX_EVERY_SECONDS", gt=0)
    escalations_every_seconds: float = Field(1, alias="ESCALATIONS_EVERY_SECONDS", gt=0)
    inbox_every_seconds: float = Field(5, alias="INBOX_EVERY_SECONDS", gt=0)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # load_settings merges the environment and .env itself, so that tests pass a dict.
        return (init_settings,)

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @field_validator("public_base_url", "twilio_api_base_url", "telegram_api_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def production(self) -> bool:
        return self.carebot_env == "production"

    @property
    def db_url(self) -> str:
        """DATABASE_URL, or the embedded SQLite file under the var directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.var_dir / 'carebot.db').as_posix()}"

    @property
    def twilio_enabled(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token)

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token)

    @property
    def sandbox_enabled(self) -> bool:
        if self.production or self.sandbox == "off":
            return False
        return self.sandbox == "on" or not (self.twilio_enabled or self.telegram_enabled)

    def require(self, *names: str, feature: str) -> None:
        """Raise one clear ConfigurationError naming each missing variable a feature needs."""
        fields = type(self).model_fields
        missing = [
            name for name in names if not getattr(self, _field_for_alias(fields, name), None)
        ]
        if missing:
            raise ConfigurationError(f"{', '.join(missing)} must be set for {feature}")

    def resolved_secret_key(self) -> str:
        """SECRET_KEY; in development generated once into the var directory when unset."""
        if self.secret_key:
            return self.secret_key
        if self.production:
            raise ConfigurationError("SECRET_KEY must be set when CAREBOT_ENV=production")
        path = self.var_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
        return key

    def check_production(self) -> None:
        """In production every secret of an enabled feature must be present."""
        if not self.production:
            return
        self.require("SECRET_KEY", "PUBLIC_BASE_URL", feature="CAREBOT_ENV=production")
        if self.twilio_account_sid or self.twilio_auth_token:
            self.require("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", feature="Twilio")
        if self.telegram_bot_token:
            self.require("TELEGRAM_WEBHOOK_SECRET", feature="the Telegram webhook")


def _field_for_alias(fields: Mapping[str, Any], alias: str) -> str:
    for name, info in fields.items():
        if info.alias == alias:
            return name
    raise KeyError(alias)


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env"
) -> Settings:
    """Settings from ``environ`` (default: the process environment) over the ``.env`` file.

    Invalid values raise ConfigurationError with one line per bad variable.
    """
    values: dict[str, Any] = {}
    if env_file is not None and Path(env_file).is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)
    known = {info.alias for info in Settings.model_fields.values()}
    try:
        return Settings(**{k: v for k, v in values.items() if k in known and v != ""})
    except ValidationError as exc:
        lines = [f"{err['loc'][0]}: {err['msg']}" for err in exc.errors()]
        raise ConfigurationError("invalid settings: " + "; ".join(lines)) from None
