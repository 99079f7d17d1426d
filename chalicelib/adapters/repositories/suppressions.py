"""A tenant's suppression list (docs/api.md §7.1)."""

from __future__ import annotations

from collections.abc import Sequence

from chalicelib.adapters.repositories.base import Repository
from chalicelib.domain.rows import Row


class SuppressionRepository(Repository):
    def matching(self, tenant_id: str, addresses: Sequence[str]) -> set[str]:
        """Which of these (lower-case) addresses the tenant has suppressed: one query a batch."""
        if not addresses:
            return set()
        with self.db.statement() as conn:
            return {
                r["address"]
                for r in conn.execute(
                    "SELECT address FROM suppressions WHERE tenant_id = %s AND address = ANY (%s)",
                    (tenant_id, list(addresses)),
                )
            }

    def add(
        self,
        tenant_id: str,
        addresses: Sequence[str],
        reason: str,
        ts: int,
        message_id: str | None = None,
        detail: str | None = None,
    ) -> int:
        """Suppress addresses (lower case); those already there are neither counted nor changed."""
        if not addresses:
            return 0
        with self.db.transaction() as conn:
            return len(
                conn.execute(
                    "INSERT INTO suppressions (tenant_id, address, reason, created_ts, message_id, detail)"
                    " SELECT %s, a, %s, %s, %s, %s FROM unnest(%s::text[]) AS a"
                    " WHERE EXISTS (SELECT 1 FROM tenants WHERE id = %s)"
                    " ON CONFLICT (tenant_id, address) DO NOTHING RETURNING address",
                    (tenant_id, reason, ts, message_id, detail, sorted(set(addresses)), tenant_id),
                ).fetchall()
            )

    def page(self, tenant_id: str, reason: str | None, limit: int, before_seq: int | None) -> list[Row]:
        """Newest first; ``before_seq`` continues after the previous page's last row."""
        clauses: list[str] = ["tenant_id = %s"]
        params: list[object] = [tenant_id]
        if reason is not None:
            clauses.append("reason = %s")
            params.append(reason)
        if before_seq is not None:
            clauses.append("seq < %s")
            params.append(before_seq)
        with self.db.transaction() as conn:
            return conn.execute(
                f"SELECT * FROM suppressions WHERE {' AND '.join(clauses)} ORDER BY seq DESC LIMIT %s", [*params, limit]
            ).fetchall()

    def delete(self, tenant_id: str, address: str) -> bool:
        with self.db.transaction() as conn:
            return (
                conn.execute(
                    "DELETE FROM suppressions WHERE tenant_id = %s AND address = %s RETURNING address",
                    (tenant_id, address),
                ).fetchone()
                is not None
            )
