"""Retention: finished, acknowledged messages and rejections removed after their time."""

from __future__ import annotations

from chalicelib.adapters.repositories.base import Repository


class RetentionRepository(Repository):
    def apply(self, now: int, tenant_id: str | None = None, threshold: int | None = None) -> int:
        """Remove finished messages whose events are all acknowledged long enough ago.

        Without ``threshold`` each tenant's ``retention_days`` applies.
        """
        limit = "%(now)s - t.retention_days::bigint * 86400" if threshold is None else "%(now)s - %(threshold)s"
        tenant_clause = "AND m.tenant_id = %(tenant)s" if tenant_id is not None else ""
        params = {"now": now, "tenant": tenant_id, "threshold": threshold}
        with self.db.transaction() as conn:
            removed = conn.execute(
                f"""
                DELETE FROM messages m USING tenants t
                WHERE t.id = m.tenant_id {tenant_clause} AND m.status <> 'pending'
                  AND NOT EXISTS (SELECT 1 FROM events e WHERE e.message_pk = m.pk AND e.reported_ts IS NULL)
                  AND (SELECT max(e.reported_ts) FROM events e WHERE e.message_pk = m.pk) <= {limit}
                RETURNING m.pk
                """,
                params,
            ).fetchall()
            conn.execute(
                f"DELETE FROM rejections r USING tenants t WHERE t.id = r.tenant_id"
                f" {tenant_clause.replace('m.', 'r.')} AND r.reported_ts IS NOT NULL"
                f" AND r.reported_ts <= {limit}",
                params,
            )
        return len(removed)
