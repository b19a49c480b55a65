"""``carebot triage`` and ``carebot context``: JSON lines in, JSON lines out (SPEC §6)."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from typing import Any, TextIO

import typer

from outreach.findings import Finding
from outreach.triage import context_of, screen, severity_of

LOCALES = ("auto", "en", "es")


def triage(
    locale: str = typer.Option(
        "auto", "--locale", help="Language of the messages: auto (detected per message), en, es."
    ),
) -> None:
    """Screen messages for red flags: one message per line on stdin, one JSON object per line."""
    if locale not in LOCALES:
        raise typer.BadParameter(f"must be one of {', '.join(LOCALES)}", param_hint="--locale")
    for text in _lines(sys.stdin):
        _emit(_triage_line(text, locale))


def context() -> None:
    """Context of a term: JSON lines {"text": ..., "term": ...} on stdin, one answer per line."""
    for line in _lines(sys.stdin):
        _emit(_context_line(line))


def _lines(stream: TextIO) -> Iterator[str]:
    """Input lines without their line ending; undecodable bytes become U+FFFD, never a crash."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        # a stream already being read, or one that cannot change, is read as it is
        with contextlib.suppress(OSError, ValueError):
            reconfigure(errors="replace")
    for line in stream:
        yield line.removesuffix("\n").removesuffix("\r")


def _emit(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()  # a consumer reading line by line gets each answer at once


def _triage_line(text: str, locale: str) -> dict[str, Any]:
    try:
        findings = screen(text, locale)
    except Exception as exc:  # one bad message must not stop the stream
        return {"text": text, "error": f"{type(exc).__name__}: {exc}"}
    return {
        "text": text,
        "severity": severity_of(findings).label,
        "findings": [_finding_json(f) for f in findings],
    }


def _finding_json(finding: Finding) -> dict[str, Any]:
    span = finding.span or (0, 0)
    return {
        "code": finding.extra.get("code", finding.rule_id.removeprefix("redflag.")),
        "label": finding.extra.get("label", finding.explanation),
        "span": [span[0], span[1]],
        "negated": finding.negated,
        "historical": finding.historical,
        "hypothetical": finding.hypothetical,
        "experiencer": finding.experiencer,
        "category": finding.category,
        "severity": finding.severity.label,
        "sensitive": finding.sensitive,
        "response": finding.response,
    }


def _context_line(line: str) -> dict[str, Any]:
    try:
        request = json.loads(line)
    except json.JSONDecodeError as exc:
        return {"error": f"not a JSON object: {exc.msg}"}
    if not isinstance(request, dict):
        return {"error": "not a JSON object"}
    text, term = request.get("text"), request.get("term")
    if not isinstance(text, str) or not isinstance(term, str):
        return {"error": 'expected {"text": string, "term": string}', "term": term}
    language = request.get("language", "auto")
    if language not in LOCALES:
        language = "auto"
    try:
        return context_of(text, term, language)
    except Exception as exc:  # one bad line must not stop the stream
        return {"error": f"{type(exc).__name__}: {exc}", "term": term}


def main() -> None:
    """Runs the two commands standalone: ``python -m bot.commands.triage triage|context``."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(triage)
    app.command()(context)
    app()


if __name__ == "__main__":
    main()
