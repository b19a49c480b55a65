"""The progress hook of long imports (the command draws it; the import only reports)."""

from __future__ import annotations

from collections.abc import Callable

ProgressCallback = Callable[[int, int], None]
"""Called with (rows done, rows to do) after each chunk of rows is written."""
