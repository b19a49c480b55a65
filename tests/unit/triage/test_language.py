"""Language detection from cheap cues."""

from __future__ import annotations

import pytest

from outreach.triage.language import detect_language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("me duele el pecho", "es"),
        ("no puedo respirar", "es"),
        ("¿qué hago?", "es"),
        ("tengo fiebre y tos", "es"),
        ("nunca he tenido convulsiones", "es"),
        ("mañana", "es"),
        ("I can't breathe", "en"),
        ("no chest pain", "en"),
        ("my husband has a fever", "en"),
        ("ok", "en"),
        ("", "en"),
        ("🙂", "en"),
        ("12345", "en"),
    ],
)
def test_detects_english_and_spanish(text: str, language: str) -> None:
    assert detect_language(text) == language
