"""Delivery reports: the tenant's report lease, unacknowledged entries, acks and backoff."""

from __future__ import annotations

from typing import cast

from chalicelib.adapters.repositories.base import Repository
from chalicelib.domain.rows import Row, TenantRow


class ReportRepository(Repository):
    def take_lease(self, tenant_id: str, now: float, seconds: float) -> TenantRow | None:
        """Lease the tenant's report slot; None while another report is in flight, or when the
        tenant has no client application to report to (one statement after each dispatch
        run of such a tenant, and no row written)."""
        with self.db.statement() as conn:
            return cast(
                TenantRow | None,
                conn.execute(
                    "UPDATE tenants SET report_lease_until = %s WHERE id = %s"
                    " AND client_base_url IS NOT NULL AND client_base_url <> ''"
                    " AND (report_lease_until IS NULL OR report_lease_until < %s) RETURNING *",
                    (now + seconds, tenant_id, now),
                ).fetchone(),
            )

    def release_lease(self, tenant_id: str) -> None:
        with self.db.statement() as conn:
            conn.execute("UPDATE tenants SET report_lease_until = NULL WHERE id = %s", (tenant_id,))

    def unreported(self, tenant_id: str, limit: int) -> list[Row]:
        """Unacknowledged events and rejections of a tenant, in creation order."""
        with self.db.transaction() as conn:
            return conn.execute(
                """
                SELECT * FROM (
                    SELECT e.event_id AS seq, 'event' AS source, m.id, e.event_type, e.event_ts,
                           e.description, e.metadata
                    FROM events e JOIN messages m ON m.pk = e.message_pk
                    WHERE e.tenant_id = %(t)s AND e.reported_ts IS NULL
                    UNION ALL
                    SELECT r.rejection_id, 'rejection', r.id, 'error', r.error_ts, r.error, NULL
                    FROM rejections r WHERE r.tenant_id = %(t)s AND r.reported_ts IS NULL
                ) x ORDER BY seq LIMIT %(limit)s
                """,
                {"t": tenant_id, "limit": limit},
            ).fetchall()

    def finish(
        self, tenant_id: str, acked: list[Row], now: int, clock: float | None, failures: int, next_attempt: int | None
    ) -> None:
        """Record a report's result: acks, sync clock, backoff; and free the lease."""
        events = [r["seq"] for r in acked if r["source"] == "event"]
        rejections = [r["seq"] for r in acked if r["source"] == "rejection"]
        with self.db.transaction() as conn:
            if events:
                conn.execute("UPDATE events SET reported_ts = %s WHERE event_id = ANY (%s)", (now, events))
                # A finished message whose events are now all acknowledged starts its retention
                # (migration 013); a separate statement, so it sees the acks above.
                conn.execute(
                    "UPDATE messages m SET acked_ts = %(now)s WHERE m.pk IN (SELECT e.message_pk FROM events e"
                    " WHERE e.event_id = ANY (%(events)s)) AND m.status <> 'pending' AND NOT EXISTS"
                    " (SELECT 1 FROM events e WHERE e.message_pk = m.pk AND e.reported_ts IS NULL)",
                    {"now": now, "events": events},
                )
            if rejections:
                conn.execute("UPDATE rejections SET reported_ts = %s WHERE rejection_id = ANY (%s)", (now, rejections))
            conn.execute(
                "UPDATE tenants SET last_sync_ts = COALESCE(%s, last_sync_ts), report_failures = %s,"
                " report_next_attempt_ts = %s, report_lease_until = NULL WHERE id = %s",
                (clock, failures, next_attempt, tenant_id),
            )

    def reset_sync(self, tenant_id: str) -> None:
        """run-now: clear the sync clock, DND and report backoff."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE tenants SET last_sync_ts = NULL, report_failures = 0,"
                " report_next_attempt_ts = NULL WHERE id = %s",
                (tenant_id,),
            )

    def tenants_due(self, now: float, interval: int, limit: int) -> list[Row]:
        """Up to ``limit`` tenants with unreported entries past their backoff, or an empty sync
        due; the longest unsynced first, so a bounded tick comes round to every tenant."""
        with self.db.statement() as conn:
            return conn.execute(
                """
                SELECT t.id, t.queue_url FROM tenants t
                WHERE t.client_base_url IS NOT NULL AND t.client_base_url <> ''
                  AND (t.report_next_attempt_ts IS NULL OR t.report_next_attempt_ts <= %(now)s)
                  AND (
                    EXISTS (SELECT 1 FROM events e WHERE e.tenant_id = t.id AND e.reported_ts IS NULL)
                    OR EXISTS (SELECT 1 FROM rejections r WHERE r.tenant_id = t.id AND r.reported_ts IS NULL)
                    OR (t.active AND (t.last_sync_ts IS NULL OR
                        (t.last_sync_ts <= %(now)s AND %(now)s - t.last_sync_ts >= %(interval)s)))
                  )
                ORDER BY t.last_sync_ts NULLS FIRST, t.id
                LIMIT %(limit)s
                """,
                {"now": now, "interval": interval, "limit": limit},
            ).fetchall()
