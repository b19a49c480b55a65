"""Scale: the dispatch tick's cost follows the number of due enrollments, not of patients.

    CAREBOT_TEST_POSTGRES_URL=... .venv/bin/python -m bench.scale --full    # 100,000 vs 1,000,000
    CAREBOT_TEST_POSTGRES_URL=... .venv/bin/python -m bench.scale --quick   # 10,000 vs 100,000

PostgreSQL only (the scale-out store). For each size a scratch database is filled in SQL
(``INSERT … SELECT generate_series``: patients, consents, enrollments) with 1% of the
enrollments due, their due times spread over an hour; then, medians of several runs:

- ``claim_ms``: one claim batch (``claim_due_enrollments``, ``batch`` rows), rolled back each
  time so that every run sees the same table;
- ``dispatch_batch_ms``: one whole dispatch tick batch (claim, then the occurrences created and
  the enrollments rescheduled, committed);
- ``plan``: ``EXPLAIN (ANALYZE, BUFFERS)`` of the claim statement (rolled back), which must read
  ``ix_enrollments_due`` and no sequential scan.

``claim_ratio`` = claim_ms at the larger size ÷ at the smaller (target: within 2×).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import text

from bench.common import (
    START,
    Panel,
    carebot_env,
    database_size_mb,
    emit,
    ratio,
    scratch_database,
)

RUNS = 7
NOW = START + timedelta(hours=1)
LEASE = timedelta(minutes=2)


async def fill(url: str, count: int) -> float:
    """Migrate and seed ``count`` patients, 1% due; returns the seconds it took."""
    from bench.wave import prepare
    from storage.engine import Database

    started = time.monotonic()
    await prepare(url, count, Panel(count, due_every=100))
    async with Database.from_url(url) as db:
        async with db.transaction() as session:
            # Spread the due times over the hour after START (as a real panel's would be);
            # the claims run at NOW, the end of that hour.
            await session.execute(
                text(
                    "UPDATE enrollments SET next_due_at = next_due_at + (id % 3600) * "
                    "interval '1 second' WHERE next_due_at <= :due"
                ),
                {"due": START},
            )
        async with db.engine.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM ANALYZE"))
    return time.monotonic() - started


async def measure_size(url: str, count: int, batch: int) -> dict[str, Any]:
    from bot.config import load_settings
    from bot.runtime import build_runtime
    from handlers.registry import Senders
    from outreach.clock import ManualClock
    from storage import claims
    from storage.engine import Database

    seeded_s = await fill(url, count)
    now = NOW
    async with Database.from_url(url) as db:
        claim_times = []
        for run in range(RUNS + 1):
            async with db.session() as session:
                began = time.perf_counter()
                claimed = await claims.claim_due_enrollments(session, now, "bench", batch, LEASE)
                if run:  # the first run warms the caches and the prepared statement
                    claim_times.append(time.perf_counter() - began)
                await session.rollback()
            if len(claimed) != batch:
                raise AssertionError(f"claimed {len(claimed)} of {batch}")
        async with db.session() as session:
            statement = claims.enrollments_statement(now, "bench", batch, LEASE)
            sql = statement.compile(
                dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}
            )
            rows = await session.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {sql}"))
            plan = [row[0] for row in rows]
            await session.rollback()
        settings = load_settings(carebot_env(url, twilio="http://127.0.0.1:9"), env_file=None)
        runtime = build_runtime(settings, db, Senders([]), clock=ManualClock(now))
        dispatch_times = []
        for _ in range(min(3, count // 100 // batch)):
            began = time.perf_counter()
            dispatched = await runtime.checkins.dispatch_due(limit=batch)
            dispatch_times.append(time.perf_counter() - began)
            if dispatched != batch:
                raise AssertionError(f"dispatched {dispatched} of {batch}")
        due = await _scalar(db, "SELECT count(*) FROM enrollments WHERE next_due_at <= :now", now)
        size = await database_size_mb(db)
    text_plan = "\n".join(plan)
    return {
        "patients": count,
        "due_left": due,
        "batch": batch,
        "claim_ms": round(1000 * statistics.median(claim_times), 2),
        "claim_ms_runs": [round(1000 * t, 2) for t in claim_times],
        "dispatch_batch_ms": round(1000 * statistics.median(dispatch_times), 1),
        "dispatch_ms_per_enrollment": round(1000 * statistics.median(dispatch_times) / batch, 3),
        "index_scan": "ix_enrollments_due" in text_plan and "Seq Scan" not in text_plan,
        "plan": plan,
        "seed_s": round(seeded_s, 1),
        "db_mb": size,
    }


async def _scalar(db: Any, sql: str, now: Any) -> int:
    from sqlalchemy import bindparam

    from storage.types import UTCDateTime

    async with db.session() as session:
        statement = text(sql).bindparams(bindparam("now", type_=UTCDateTime()))
        return int(await session.scalar(statement, {"now": now}) or 0)


async def measure(small: int, large: int, batch: int) -> dict[str, Any]:
    sizes = []
    for count in (small, large):
        async with scratch_database("postgresql") as url:
            sizes.append(await measure_size(url, count, batch))
    return {
        "bench": "scale",
        "engine": "postgresql",
        "due_fraction": 0.01,
        "sizes": sizes,
        "claim_ratio": ratio(sizes[1]["claim_ms"], sizes[0]["claim_ms"]),
        "dispatch_ratio": ratio(sizes[1]["dispatch_batch_ms"], sizes[0]["dispatch_batch_ms"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_const", const=(10_000, 100_000), dest="sizes")
    size.add_argument("--full", action="store_const", const=(100_000, 1_000_000), dest="sizes")
    size.add_argument("--sizes", type=lambda s: tuple(int(p) for p in s.split(",")))
    parser.add_argument("--batch", type=int, help="claim batch (default: 1% of the smaller)")
    args = parser.parse_args()
    small, large = args.sizes or (10_000, 100_000)
    batch = args.batch or min(500, small // 100)
    emit(asyncio.run(measure(small, large, batch)))


if __name__ == "__main__":
    main()
