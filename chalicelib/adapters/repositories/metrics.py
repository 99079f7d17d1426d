"""The per-account counters, the per-tenant latency histogram and the pending gauge, read at
scrape time; one shard of the tenants at a time when the operator splits the scrape."""

from __future__ import annotations

from chalicelib.adapters.repositories.base import Repository
from chalicelib.domain import metrics
from chalicelib.domain.rows import Row

# A tenant's shard: stable across PostgreSQL versions (md5, not hashtext), 28 bits, so the
# same tenant is always scraped by the same job.
_IN_SHARD = "mod(('x' || left(md5(t.id), 7))::bit(28)::integer, %(shards)s) = %(shard)s"


class MetricRepository(Repository):
    def size(self, shard: int, shards: int) -> Row:
        """Accounts and tenants in the shard, and the bytes of their labels: what the answer
        will weigh, known before it is built."""
        with self.db.statement() as conn:
            row = conn.execute(
                "SELECT count(*) AS accounts, count(DISTINCT t.id) AS tenants,"
                " COALESCE(sum(length(t.id) + length(COALESCE(t.name, t.id)) + 2 * length(a.id)), 0) AS account_labels,"
                " COALESCE(sum(length(t.id) + length(COALESCE(t.name, t.id))), 0) AS tenant_labels"
                f" FROM accounts a JOIN tenants t ON t.id = a.tenant_id WHERE {_IN_SHARD}",
                {"shard": shard, "shards": shards},
            ).fetchone()
        return row or {"accounts": 0, "tenants": 0, "account_labels": 0, "tenant_labels": 0}

    def rows(self, shard: int = 0, shards: int = 1) -> tuple[list[Row], list[Row], int | None]:
        """The shard's accounts' counters (zero when never counted), its tenants' latency
        counters summed over their accounts, and (shard 0 only) the unfinished total."""
        params = {
            "names": list(metrics.NAMES),
            "latency": list(metrics.LATENCY_NAMES),
            "shard": shard,
            "shards": shards,
        }
        with self.db.transaction() as conn:
            counters = conn.execute(
                "SELECT a.tenant_id, COALESCE(t.name, t.id) AS tenant_name, a.id AS account_id,"
                " n.name, COALESCE(c.value, 0) AS value"
                " FROM accounts a JOIN tenants t ON t.id = a.tenant_id"
                " CROSS JOIN unnest(%(names)s::text[]) AS n(name)"
                " LEFT JOIN metric_counters c ON c.tenant_id = a.tenant_id"
                "  AND c.account_id = a.id AND c.name = n.name"
                f" WHERE {_IN_SHARD}"
                " ORDER BY a.tenant_id, a.id, n.name",
                params,
            ).fetchall()
            latency = conn.execute(
                "SELECT t.id AS tenant_id, COALESCE(t.name, t.id) AS tenant_name, c.name, sum(c.value) AS value"
                " FROM tenants t JOIN metric_counters c ON c.tenant_id = t.id"
                f" WHERE c.name = ANY (%(latency)s) AND {_IN_SHARD}"
                " GROUP BY t.id, t.name, c.name ORDER BY t.id",
                params,
            ).fetchall()
            tenants = conn.execute(
                f"SELECT t.id AS tenant_id, COALESCE(t.name, t.id) AS tenant_name FROM tenants t"
                f" WHERE {_IN_SHARD} AND EXISTS (SELECT 1 FROM accounts a WHERE a.tenant_id = t.id) ORDER BY t.id",
                params,
            ).fetchall()
            pending = None
            if shard == 0:
                found = conn.execute("SELECT count(*) AS n FROM messages WHERE status = 'pending'").fetchone()
                pending = int(found["n"]) if found else 0
        # Every tenant with an account has a histogram from the start (all zero).
        seen = {r["tenant_id"] for r in latency}
        latency.extend({**t, "name": metrics.LATENCY_SUM_MS, "value": 0} for t in tenants if t["tenant_id"] not in seen)
        return counters, latency, pending
