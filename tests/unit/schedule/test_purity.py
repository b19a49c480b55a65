"""The scheduling package is pure domain code: standard library and itself only."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import outreach.schedule

PACKAGE = Path(outreach.schedule.__file__).parent


def test_schedule_imports_only_the_standard_library_and_itself() -> None:
    for module in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or name.startswith("outreach.schedule"), (
                    f"{module.name} imports {name}"
                )
