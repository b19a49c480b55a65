"""Where exports go: file names, output directories and whole-file writes."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from outreach.errors import CarebotError


class ExportError(CarebotError, ValueError):
    """The output cannot be written where it was asked for (a file where a directory is needed,
    or a single-file target without a single patient)."""


def bundle_file_name(external_id: str) -> str:
    """``<external id>.json``, percent-encoding anything but letters, digits, ``-``, ``_``, ``.``
    so that every id gets its own file and none escapes the directory (``a/b`` → ``a%2Fb``)."""
    name = quote(external_id, safe="-_.")
    if name.startswith("."):
        name = "%2E" + name[1:]
    return f"{name}.json"


def output_dir(path: Path) -> Path:
    """``path`` as an existing directory (created with its parents if missing)."""
    if path.exists() and not path.is_dir():
        raise ExportError(f"{path} exists and is not a directory")
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented UTF-8 JSON; the file appears whole or not at all."""
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=2)
        fh.write("\n")
    os.replace(partial, path)
