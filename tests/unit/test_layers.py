"""The dependency direction (SPEC §2): bot → handlers, storage → outreach; outreach imports
nothing of ours but itself and no infrastructure library."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
INFRASTRUCTURE = {
    "twilio",
    "telegram",
    "sqlalchemy",
    "apscheduler",
    "fastapi",
    "starlette",
    "aiohttp",
    "httpx",
    "uvicorn",
    "alembic",
    "asyncpg",
    "aiosqlite",
}
FORBIDDEN = {
    "outreach": INFRASTRUCTURE | {"bot", "handlers", "storage"},
    "storage": {"bot", "handlers", "twilio", "telegram", "starlette"},
    "handlers": {"bot", "storage", "sqlalchemy"},
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_what_its_layer_allows(package: str):
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_roots(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}
