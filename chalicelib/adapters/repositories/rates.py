"""Rate counters: one row per account and window, taken and given back atomically."""

from __future__ import annotations

from collections.abc import Iterable

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

    def release(self, tenant_id: str, account_id: str, windows: Iterable[Window]) -> None:
        with self.db.transaction() as conn:
            for w in windows:
                conn.execute(
                    "UPDATE rate_counters SET used = GREATEST(used - 1, 0)"
                    " WHERE tenant_id = %s AND account_id = %s AND window_kind = %s AND window_start = %s",
                    (tenant_id, account_id, w.kind, w.start),
                )
