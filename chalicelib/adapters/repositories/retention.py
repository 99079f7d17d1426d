"""Retention (docs/api.md §5.12): finished, acknowledged messages and rejections removed after
their time, and the service's own bookkeeping pruned, one bounded batch per call.

Every statement reads an index range (migration 013), so a batch costs the rows it removes
and one index probe per tenant, whatever the tables' size; the caller repeats batches while
its time budget lasts and the next run resumes where this one stopped.
"""

from __future__ import annotations

from chalicelib.adapters.repositories.base import Repository

# Each tenant's cut-off: its retention_days, or the caller's threshold.
_CUTOFF = "%(now)s - COALESCE(%(threshold)s, t.retention_days::bigint * 86400)"
_ONE_OR_ALL = "(%(tenant)s::text IS NULL OR t.id = %(tenant)s)"
_UNACKED = "EXISTS (SELECT 1 FROM events e WHERE e.message_pk = m.pk AND e.reported_ts IS NULL)"


class RetentionRepository(Repository):
    def remove_messages(self, now: int, limit: int, tenant_id: str | None = None, threshold: int | None = None) -> int:
        """Remove up to ``limit`` messages acknowledged before their tenant's cut-off, oldest
        first per tenant. A candidate with an event still unacknowledged (a bounce after the
        report) is kept and leaves the index until that event's report."""
        params = {"now": now, "limit": limit, "tenant": tenant_id, "threshold": threshold}
        with self.db.statement() as conn:
            removed = conn.execute(
                f"""
                WITH candidates AS (
                    SELECT v.pk FROM tenants t CROSS JOIN LATERAL (
                        -- one index range of messages_acked_idx per tenant
                        SELECT m.pk FROM messages m
                        WHERE m.tenant_id = t.id AND m.acked_ts <= {_CUTOFF}
                        ORDER BY m.acked_ts LIMIT %(limit)s) v
                    WHERE {_ONE_OR_ALL}
                    LIMIT %(limit)s
                ), kept AS (
                    UPDATE messages m SET acked_ts = NULL FROM candidates c
                    WHERE m.pk = c.pk AND {_UNACKED}
                )
                DELETE FROM messages m USING candidates c
                WHERE m.pk = c.pk AND m.status <> 'pending' AND NOT {_UNACKED}
                RETURNING 1
                """,
                params,
            ).fetchall()
        return len(removed)

    def remove_rejections(
        self, now: int, limit: int, tenant_id: str | None = None, threshold: int | None = None
    ) -> int:
        params = {"now": now, "limit": limit, "tenant": tenant_id, "threshold": threshold}
        with self.db.statement() as conn:
            return len(
                conn.execute(
                    f"""
                DELETE FROM rejections WHERE rejection_id IN (
                    SELECT v.rejection_id FROM tenants t CROSS JOIN LATERAL (
                        SELECT r.rejection_id FROM rejections r
                        WHERE r.tenant_id = t.id AND r.reported_ts IS NOT NULL AND r.reported_ts <= {_CUTOFF}
                        ORDER BY r.reported_ts LIMIT %(limit)s) v
                    WHERE {_ONE_OR_ALL}
                    LIMIT %(limit)s)
                RETURNING 1
                """,
                    params,
                ).fetchall()
            )

    def prune_bookkeeping(self, command_log_before: int, rates_before: int, limit: int) -> int:
        """Command-log rows and past rate windows older than their cut-offs, up to ``limit`` of
        each; returns the rows removed."""
        with self.db.statement() as conn:
            logged = conn.execute(
                "DELETE FROM command_log WHERE id IN (SELECT id FROM command_log WHERE command_ts < %s"
                " ORDER BY command_ts, id LIMIT %s) RETURNING 1",
                (command_log_before, limit),
            ).fetchall()
            windows = conn.execute(
                "DELETE FROM rate_counters WHERE ctid = ANY (ARRAY(SELECT ctid FROM rate_counters"
                " WHERE window_start < %s LIMIT %s)) RETURNING 1",
                (rates_before, limit),
            ).fetchall()
        return len(logged) + len(windows)
