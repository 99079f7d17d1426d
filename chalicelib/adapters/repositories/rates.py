"""Rate counters: one row per account and window, taken and given back atomically."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from chalicelib.adapters.repositories.base import Repository
from chalicelib.domain.rate import Window


class RateRepository(Repository):
    def take(self, tenant_id: str, account_id: str, windows: Iterable[Window]) -> list[Window]:
        """Take one slot in each window atomically; returns the exhausted windows.

        When any window is full nothing is taken (the transaction rolls back).
        """
        exhausted = []
        with self.db.transaction() as conn:
            for w in windows:
                row = conn.execute(
                    "INSERT INTO rate_counters (tenant_id, account_id, window_kind, window_start, used)"
                    " VALUES (%s, %s, %s, %s, 1)"
                    " ON CONFLICT (tenant_id, account_id, window_kind, window_start)"
                    " DO UPDATE SET used = rate_counters.used + 1"
                    " WHERE rate_counters.used < %s RETURNING used",
                    (tenant_id, account_id, w.kind, w.start, w.limit),
                ).fetchone()
                if row is None or row["used"] > w.limit:
                    exhausted.append(w)
            if exhausted:
                conn.rollback()
        return exhausted

    def remaining(self, tenant_id: str, account_id: str, windows: Sequence[Window]) -> tuple[int, list[Window]]:
        """Slots left in the tightest of the windows, and the tightest windows."""
        with self.db.statement() as conn:
            used = {
                (r["window_kind"], r["window_start"]): int(r["used"])
                for r in conn.execute(
                    "SELECT window_kind, window_start, used FROM rate_counters WHERE tenant_id = %s AND account_id = %s"
                    " AND (window_kind, window_start) IN (SELECT * FROM unnest(%s::text[], %s::bigint[]))",
                    (tenant_id, account_id, [w.kind for w in windows], [w.start for w in windows]),
                ).fetchall()
            }
        left = [w.limit - used.get((w.kind, w.start), 0) for w in windows]
        return min(left), [w for w, n in zip(windows, left, strict=True) if n == min(left)]

    def release(self, tenant_id: str, account_id: str, windows: Iterable[Window]) -> None:
        with self.db.transaction() as conn:
            for w in windows:
                conn.execute(
                    "UPDATE rate_counters SET used = GREATEST(used - 1, 0)"
                    " WHERE tenant_id = %s AND account_id = %s AND window_kind = %s AND window_start = %s",
                    (tenant_id, account_id, w.kind, w.start),
                )
