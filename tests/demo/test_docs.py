"""The docs stay in step with the code: every setting documented, the example program valid,
every relative link pointing at a file that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import Settings
from outreach.programs.loader import parse_program

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = sorted(page.name for page in DOCS.glob("*.md"))


def settings_names() -> set[str]:
    return {str(info.alias) for info in Settings.model_fields.values()}


def test_every_setting_is_in_the_reference_and_env_example() -> None:
    reference = (DOCS / "configuration.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", reference, re.MULTILINE))
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", example, re.MULTILINE))
    assert documented == settings_names()
    assert listed == settings_names()


def test_the_example_program_is_valid() -> None:
    text = (DOCS / "programs.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(.+?)\n```", text, re.DOTALL)
    assert block is not None
    program = parse_program(block.group(1), "docs/programs.md")
    assert program.id == "after_discharge" and program.languages == ["en", "es"]


@pytest.mark.parametrize("name", [*PAGES, "../README.md", "../bench/README.md"])
def test_relative_links_exist(name: str) -> None:
    page = (DOCS / name).resolve()
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
        assert (page.parent / target).exists(), f"{name}: broken link {target}"
