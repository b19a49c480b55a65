"""Settings: from a mapping, from .env (the environment wins), secrets, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_settings
from outreach.errors import ConfigurationError


def test_from_a_dict_with_defaults(tmp_path: Path):
    settings = load_settings({"CAREBOT_VAR_DIR": str(tmp_path), "TWILIO_MPS": "3"}, env_file=None)
    assert settings.twilio_mps == 3.0
    assert settings.db_url == f"sqlite+aiosqlite:///{tmp_path.as_posix()}/carebot.db"
    assert settings.twilio_api_base_url == "https://api.twilio.com"
    assert settings.telegram_api_base_url == "https://api.telegram.org"
    assert settings.sandbox_enabled and not settings.twilio_enabled


def test_env_file_is_read_and_the_environment_overrides_it(tmp_path: Path):
    env_file = tmp_path / ".env"
    env_file.write_text("ALERT_DETAIL=minimal\nWORKER_COUNT=4\nTELEGRAM_API_BASE_URL=http://x/\n")
    settings = load_settings({"WORKER_COUNT": "2"}, env_file=env_file)
    assert settings.alert_detail == "minimal"
    assert settings.worker_count == 2
    assert settings.telegram_api_base_url == "http://x"


def test_the_process_environment_is_not_read_at_import(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ALERT_DETAIL", "minimal")
    assert load_settings({}, env_file=None).alert_detail == "full"


def test_invalid_values_give_one_line_naming_each_variable():
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"TWILIO_MPS": "fast", "DEFAULT_TIMEZONE": "Mars/Olympus"}, env_file=None)
    message = str(caught.value)
    assert "\n" not in message
    assert "TWILIO_MPS" in message and "DEFAULT_TIMEZONE" in message


def test_a_missing_secret_names_the_variable():
    settings = load_settings({"TWILIO_ACCOUNT_SID": "AC1"}, env_file=None)
    with pytest.raises(ConfigurationError, match=r"^TWILIO_AUTH_TOKEN must be set for Twilio SMS$"):
        settings.require("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", feature="Twilio SMS")


def test_production_requires_its_secrets_and_disables_the_sandbox():
    settings = load_settings({"CAREBOT_ENV": "production"}, env_file=None)
    assert not settings.sandbox_enabled
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        settings.check_production()
    with pytest.raises(ConfigurationError, match="SECRET_KEY must be set"):
        settings.resolved_secret_key()
    telegram = load_settings(
        {"CAREBOT_ENV": "production", "SECRET_KEY": "s" * 40, "TELEGRAM_BOT_TOKEN": "1:x"},
        env_file=None,
    )
    with pytest.raises(ConfigurationError, match="TELEGRAM_WEBHOOK_SECRET"):
        telegram.check_production()


def test_development_secret_key_is_generated_once(tmp_path: Path):
    settings = load_settings({"CAREBOT_VAR_DIR": str(tmp_path)}, env_file=None)
    first = settings.resolved_secret_key()
    assert len(first) >= 40
    assert settings.resolved_secret_key() == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_env_example_lists_every_setting():
    example = (Path(__file__).parents[2] / ".env.example").read_text()
    keys = {
        line.split("=", 1)[0]
        for line in example.splitlines()
        if "=" in line and not line.startswith("#")
    }
    from bot.config import Settings

    aliases = {field.alias for field in Settings.model_fields.values()}
    assert aliases <= keys, sorted(aliases - keys)
