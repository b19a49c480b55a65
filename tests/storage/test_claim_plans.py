"""Claim cost is O(due rows): on PostgreSQL every claim reads its due rows through an index."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from outreach.clock import ManualClock
from storage import claims
from storage.engine import Database

pytestmark = pytest.mark.postgres

ROWS = 10_000  # 1% due
LEASE = timedelta(minutes=5)


async def _plan(session: AsyncSession, statement: Any) -> str:
    sql = statement.compile(
        dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}
    )
    return "\n".join(row[0] for row in await session.execute(text(f"EXPLAIN {sql}")))


FILL = [
    # one manager, program; ROWS patients each enrolled; 1 in 100 due
    """INSERT INTO care_managers (email, name, role, timezone, active, created_at)
       VALUES ('m@example.org', 'M', 'care_manager', 'UTC', true, :now)""",
    "INSERT INTO programs (id, name, digest) VALUES ('general', 'General', '')",
    """INSERT INTO patients (external_id, name, timezone, language, channel, care_manager_id,
         baseline, status, created_at)
       SELECT 'P' || g, 'Patient ' || g, 'UTC', 'en', 'sms',
              (SELECT id FROM care_managers), '{}', 'active', :now
       FROM generate_series(1, :rows) g""",
    """INSERT INTO enrollments (patient_id, program_id, cadence_day, cadence_time, next_due_at,
         paused, consecutive_missed, created_at)
       SELECT id, 'general', '5', '10:00',
              CASE WHEN id % 100 = 0 THEN :now - interval '1 hour'
                   ELSE :now + (id % 28 + 1) * interval '1 day' END,
              false, 0, :now
       FROM patients""",
    """INSERT INTO checkins (enrollment_id, patient_id, program_id, occurrence_key, scheduled_for,
         status, manual, state, next_action_at, severity, version, created_at)
       SELECT id, patient_id, 'general', '2026-03', :now,
              CASE WHEN id % 100 <> 0 AND id % 3 = 0 THEN 'completed' ELSE 'in_progress' END,
              false, '{}',
              CASE WHEN id % 100 = 0 THEN :now - interval '1 hour'
                   WHEN id % 3 = 0 THEN NULL
                   ELSE :now + interval '4 hours' END,
              'none', 1, :now
       FROM enrollments""",
    """INSERT INTO messages (direction, channel, address, body, kind, status, status_history,
         idempotency_key, flagged, created_at)
       SELECT 'out', 'sms', 'tel:+1555', 'hi', 'question', 'sent', '[]', 'k' || g, false, :now
       FROM generate_series(1, :rows) g""",
    """INSERT INTO outbox (message_id, address, body, buttons, language, state, attempts,
         next_attempt_at, created_at)
       SELECT id, 'tel:+1555', 'hi', '[]', 'en',
              CASE WHEN id % 100 = 0 THEN 'pending' ELSE 'sent' END, 1,
              :now - interval '1 minute', :now
       FROM messages""",
    """INSERT INTO processed_webhooks (provider, external_id, payload, received_at, processed_at,
         attempts)
       SELECT 'twilio', 'SM' || g, '{}', :now - interval '1 hour',
              CASE WHEN g % 100 = 0 THEN NULL ELSE :now - interval '59 minutes' END, 0
       FROM generate_series(1, :rows) g""",
    """INSERT INTO escalations (patient_id, rule_id, dedupe_key, severity, status, reasons,
         sensitive, ack_deadline, ladder_level, notes, created_at)
       SELECT id, 'r', CASE WHEN id % 100 = 0 THEN 'k' || id END, 'urgent',
              CASE WHEN id % 100 = 0 THEN 'open' ELSE 'resolved' END, '[]', false,
              :now - interval '1 minute', 0, '[]', :now
       FROM patients""",
]


async def test_every_claim_uses_its_index(postgres_db: Database, clock: ManualClock) -> None:
    now: datetime = clock.now()
    async with postgres_db.transaction() as session:
        for statement in FILL:
            sql = statement.replace(":now", "CAST(:now AS timestamptz)")
            await session.execute(text(sql), {"now": now, "rows": ROWS})
    async with postgres_db.engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("ANALYZE"))
    statements = {
        "enrollments": (claims.enrollments_statement(now, "w", 100, LEASE), "ix_enrollments_due"),
        "checkins": (claims.checkins_statement(now, "w", 100, LEASE), "ix_checkins_next_action"),
        "outbox": (claims.outbox_statement(now, "w", 100), "ix_outbox_due"),
        "outbox (stale)": (claims.stale_outbox_statement(now, "w", 100, LEASE), "ix_outbox_due"),
        "inbox": (
            claims.inbox_statement(now, "w", 100, LEASE, timedelta(seconds=30), 10),
            "ix_processed_webhooks_pending",
        ),
        "escalations": (
            claims.escalations_statement(now, "w", 100, LEASE),
            "ix_escalations_deadline",
        ),
    }
    async with postgres_db.transaction() as session:
        for name, (statement, index) in statements.items():
            plan = await _plan(session, statement)
            assert index in plan, f"{name} does not use {index}:\n{plan}"
            assert "Seq Scan" not in plan, f"{name} scans its table:\n{plan}"
            print(f"--- {name}\n{plan}")  # shown with pytest -s
        # And the claims themselves take exactly the 1% due.
        assert len(await claims.claim_due_enrollments(session, now, "w", 10_000, LEASE)) == (
            ROWS // 100
        )
        assert len(await claims.claim_due_checkins(session, now, "w", 10_000, LEASE)) == (
            ROWS // 100
        )
