"""Each benchmark's smallest run, as a smoke test: the figures come out and the work was done.

Everything runs in this process (``isolate=False``: no process to start per part), so these
figures mean nothing; timings are not asserted. bench/README.md says how to measure.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench import alert, inbound, scale, wave
from tests.conftest import postgres_url_or_skip

pytestmark = pytest.mark.slow


def keys(figures: dict[str, Any], *names: str) -> None:
    json.dumps(figures)  # printable as JSON
    missing = [name for name in names if name not in figures]
    assert not missing, f"missing {missing} in {figures}"


async def test_wave() -> None:
    figures = await wave.measure("sqlite", 30, 30, 4, None, isolate=False)
    keys(
        figures,
        "messages_per_s",
        "baseline_messages_per_s",
        "ratio",
        "peak_rss_mb",
        "db_mb",
        "first_questions",
    )
    assert figures["first_questions"] == 30 and figures["duplicates"] == 0
    assert figures["checked"] == {"checkins_started": 30, "outbox_sent": 30}
    assert figures["ratio"] > 0


async def test_wave_phases() -> None:
    figures = await wave.phases("sqlite", 20)
    keys(figures, "dispatch_ms", "start_ms", "deliver_ms", "start_cpu_ms")


async def test_inbound() -> None:
    figures = await inbound.measure("sqlite", {1: 4, 4: 8}, isolate=False)
    keys(figures, "levels", "peak_rss_mb")
    for level in figures["levels"]:
        keys(level["ack"], "p50_ms", "p99_ms", "per_s", "ratio_to_hello")
        keys(level["hello"], "p50_ms", "p99_ms", "per_s")
        assert level["ack"]["not_2xx"] == 0
        assert level["reply"]["all_delivered"]
        assert level["reply"]["delivered"] == level["replies"]


async def test_alert() -> None:
    figures = await alert.measure("sqlite", 4, 0.05, isolate=False)
    keys(figures, "alert", "advice_sms", "ack")
    assert figures["all_alerted"] and figures["not_2xx"] == 0
    assert figures["alert"]["delivered"] == 4 and figures["advice_sms"]["delivered"] == 4


@pytest.mark.postgres
async def test_scale() -> None:
    postgres_url_or_skip()
    figures = await scale.measure(2_000, 4_000, 10)
    keys(figures, "sizes", "claim_ratio", "dispatch_ratio")
    for size in figures["sizes"]:
        assert size["index_scan"], "\n".join(size["plan"])
        assert size["claim_ms"] > 0 and size["dispatch_batch_ms"] > 0
