"""``carebot triage`` and ``carebot context``: exact keys, spans and streaming behaviour."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

from bot.commands.triage import context, triage

ROOT = Path(__file__).resolve().parents[3]
FINDING_KEYS = {"code", "label", "span", "negated", "historical", "hypothetical", "experiencer"}


def app() -> typer.Typer:
    cli = typer.Typer()
    cli.command()(triage)
    cli.command()(context)
    return cli


def run(args: list[str], stdin: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(app(), args, input=stdin)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_triage_keys_and_spans() -> None:
    texts = [
        "my husband has chest pain",
        "no fever but i cant breathe 😢",
        "Hola, me duele el pecho",
        "",
        "thanks, all good",
    ]
    out = run(["triage"], "\n".join(texts) + "\n")
    assert [o["text"] for o in out] == texts
    for obj, text in zip(out, texts, strict=True):
        assert {"text", "severity", "findings"} <= set(obj)
        assert obj["severity"] in {"emergency", "urgent", "routine", "none"}
        for finding in obj["findings"]:
            assert set(finding) >= FINDING_KEYS
            start, end = finding["span"]
            assert isinstance(start, int) and isinstance(end, int)
            assert text[start:end].strip() == text[start:end] and text[start:end]
            assert finding["experiencer"] in {"patient", "other"}
    assert out[0]["severity"] == "urgent"
    assert out[0]["findings"][0]["experiencer"] == "other"
    assert out[0]["findings"][0]["code"] == "heart.chest_pain"
    assert texts[1][slice(*out[1]["findings"][1]["span"])] == "cant breathe"
    assert out[1]["findings"][0]["negated"] is True
    assert out[1]["severity"] == "emergency"
    assert texts[2][slice(*out[2]["findings"][0]["span"])] == "duele el pecho"
    assert out[3] == {"text": "", "severity": "none", "findings": []}


def test_spans_count_code_points_after_emoji() -> None:
    text = "😀😀 👍🏽 chest pain"
    (obj,) = run(["triage"], text + "\n")
    start, end = obj["findings"][0]["span"]
    assert text[start:end] == "chest pain"


def test_triage_only_strips_the_line_end() -> None:
    (obj,) = run(["triage"], "  chest pain  \r\n")
    assert obj["text"] == "  chest pain  "
    assert obj["findings"][0]["span"] == [2, 12]


def test_triage_locale() -> None:
    (obj,) = run(["triage", "--locale", "es"], "sin dolor de pecho\n")
    assert obj["findings"][0]["negated"] is True
    result = CliRunner().invoke(app(), ["triage", "--locale", "fr"], input="x\n")
    assert result.exit_code != 0


def test_context_contract() -> None:
    lines = [
        json.dumps({"text": "Patient denies chest pain.", "term": "CHEST  PAIN"}),
        json.dumps({"text": "mi esposo no puede respirar", "term": "no puede respirar"}),
        json.dumps({"text": "the swelling went away", "term": "swelling"}),
        json.dumps({"text": "what if I get a fever", "term": "fever"}),
        json.dumps({"text": "nothing", "term": "fever"}),
    ]
    out = run(["context"], "\n".join(lines) + "\n")
    keys = {"term", "found", "negated", "historical", "hypothetical", "experiencer"}
    assert all(set(o) == keys for o in out)
    assert out[0] == {
        "term": "CHEST  PAIN",
        "found": True,
        "negated": True,
        "historical": False,
        "hypothetical": False,
        "experiencer": "patient",
    }
    assert out[1]["experiencer"] == "other" and out[1]["negated"] is False
    assert out[2]["historical"] is True and out[2]["negated"] is False
    assert out[3]["hypothetical"] is True
    assert out[4]["found"] is False


def test_context_survives_malformed_lines() -> None:
    good = json.dumps({"text": "no fever", "term": "fever"})
    stdin = "\n".join(["not json", "[1, 2]", '{"text": 3, "term": "x"}', "", good]) + "\n"
    out = run(["context"], stdin)
    assert len(out) == 5
    assert all("error" in o for o in out[:4])
    assert out[4]["negated"] is True


def test_module_streams_line_by_line() -> None:
    """One answer per line, flushed before the next line is even written."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        [sys.executable, "-m", "bot.commands.triage", "triage"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    ) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            for text, severity in [("chest pain", "emergency"), ("all good", "none")]:
                proc.stdin.write(text + "\n")
                proc.stdin.flush()
                assert selector.select(timeout=60), "no answer before the next line"
                answer = json.loads(proc.stdout.readline())
                assert answer["text"] == text and answer["severity"] == severity
        proc.stdin.close()
        proc.wait(timeout=60)
    assert proc.returncode == 0


def test_module_context_command() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    stdin = json.dumps({"text": "sin fiebre", "term": "fiebre"}) + "\nbroken\n"
    done = subprocess.run(
        [sys.executable, "-m", "bot.commands.triage", "context"],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=True,
    )
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert first["negated"] is True and "error" in second
