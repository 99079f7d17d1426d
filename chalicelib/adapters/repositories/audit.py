"""The command log (docs/api.md §3.7, 5.14): one row per state-changing command."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.repositories.base import Repository, jsonb
from chalicelib.domain.rows import Row


class AuditRepository(Repository):
    def record(self, ts: int, endpoint: str, tenant_id: str | None, payload: Any, status: int) -> None:
        with self.db.statement() as conn:
            conn.execute(
                "INSERT INTO command_log (command_ts, endpoint, tenant_id, payload, response_status)"
                " VALUES (%s, %s, %s, %s, %s)",
                (ts, endpoint, tenant_id, jsonb(payload), status),
            )

    def entries(
        self,
        tenant_id: str | None,
        since_ts: int | None,
        until_ts: int | None,
        endpoint_filter: str | None,
        limit: int | None,
    ) -> list[Row]:
        clauses: list[str] = []
        params: list[Any] = []
        for clause, value in (
            ("tenant_id = %s", tenant_id),
            ("command_ts >= %s", since_ts),
            ("command_ts <= %s", until_ts),
            ("strpos(endpoint, %s) > 0", endpoint_filter or None),
        ):
            if value is not None:
                clauses.append(clause)
                params.append(value)
        sql = "SELECT * FROM command_log"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY command_ts, id"
        if limit is not None:
            sql += " LIMIT %s"
            params.append(max(0, limit))
        with self.db.transaction() as conn:
            return conn.execute(sql, params).fetchall()
