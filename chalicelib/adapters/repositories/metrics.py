"""The per-account counters and the pending gauge, read at scrape time."""

from __future__ import annotations

from chalicelib.adapters.repositories.base import Repository
from chalicelib.domain import metrics
from chalicelib.domain.records import Row


class MetricRepository(Repository):
    def rows(self) -> tuple[list[Row], int]:
        """Every account's counters and latency histogram counters (zero when never counted)
        and the unfinished total."""
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT a.tenant_id, COALESCE(t.name, t.id) AS tenant_name, a.id AS account_id,"
                " n.name, COALESCE(c.value, 0) AS value"
                " FROM accounts a JOIN tenants t ON t.id = a.tenant_id"
                " CROSS JOIN unnest(%s::text[]) AS n(name)"
                " LEFT JOIN metric_counters c ON c.tenant_id = a.tenant_id"
                "  AND c.account_id = a.id AND c.name = n.name"
                " ORDER BY a.tenant_id, a.id, n.name",
                ([*metrics.NAMES, *metrics.LATENCY_NAMES],),
            ).fetchall()
            pending = conn.execute("SELECT count(*) AS n FROM messages WHERE status = 'pending'").fetchone()
        return rows, int(pending["n"]) if pending else 0
