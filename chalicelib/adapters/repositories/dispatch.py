"""Dispatch: account leases, message claims and each attempt's recorded outcome."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from chalicelib.adapters.repositories.base import DISPATCH_ORDER_SQL, DUE, INSERT_EVENT, Repository, jsonb
from chalicelib.domain.messages import dispatch_key
from chalicelib.domain.records import Row
from chalicelib.domain.rows import AccountRow, MessageRow, TenantRow


class DispatchRepository(Repository):
    def tenant_and_accounts(self, tenant_id: str) -> tuple[TenantRow | None, list[AccountRow]]:
        """The tenant (with the instance settings under ``instance``) and its accounts."""
        with self.db.transaction() as conn:
            tenant = conn.execute("SELECT * FROM tenants WHERE id = %s", (tenant_id,)).fetchone()
            accounts = conn.execute(
                "SELECT * FROM accounts WHERE tenant_id = %s ORDER BY id", (tenant_id,)
            ).fetchall()
            instance = conn.execute("SELECT * FROM instance_settings WHERE id = 1").fetchone()
        if tenant is not None:
            tenant["instance"] = instance or {}
        return cast(TenantRow | None, tenant), cast(list[AccountRow], accounts)

    def take_account_lease(self, tenant_id: str, account_id: str, owner: str, now: int, lease: int) -> bool:
        with self.db.transaction() as conn:
            return conn.execute(
                "UPDATE accounts SET dispatch_owner = %(owner)s, dispatch_lease_until = %(until)s"
                " WHERE tenant_id = %(tenant)s AND id = %(account)s AND (dispatch_lease_until IS NULL"
                " OR dispatch_lease_until < %(now)s OR dispatch_owner = %(owner)s) RETURNING id",
                {"owner": owner, "until": now + lease, "tenant": tenant_id, "account": account_id, "now": now},
            ).fetchone() is not None

    def release_account_leases(self, tenant_id: str, owner: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE accounts SET dispatch_owner = NULL, dispatch_lease_until = NULL"
                " WHERE tenant_id = %s AND dispatch_owner = %s",
                (tenant_id, owner),
            )

    def claim(self, tenant_id: str, account_id: str, owner: str, now: int, lease: int, limit: int
              ) -> list[MessageRow]:
        """Lease up to ``limit`` due messages of one account, in dispatch order."""
        with self.db.transaction() as conn:
            rows = conn.execute(
                f"""
                WITH due AS (
                    SELECT m.pk FROM messages m JOIN tenants t ON t.id = m.tenant_id
                    WHERE m.tenant_id = %(tenant)s AND m.account_id = %(account)s AND {DUE}
                    ORDER BY {DISPATCH_ORDER_SQL}
                    LIMIT %(limit)s
                    FOR UPDATE OF m SKIP LOCKED
                )
                UPDATE messages m SET claim_owner = %(owner)s,
                       claim_expires = %(now)s + %(lease)s, deferred_ts = NULL
                FROM due WHERE m.pk = due.pk
                RETURNING m.*
                """,
                {"tenant": tenant_id, "account": account_id, "owner": owner, "now": now,
                 "lease": lease, "limit": limit},
            ).fetchall()
        rows.sort(key=dispatch_key)   # UPDATE ... RETURNING keeps no order
        return cast(list[MessageRow], rows)

    def has_due(self, tenant_id: str, now: int) -> bool:
        """Due messages this tenant's next run could send: not those of an account another
        run is sending for (that run keeps going or asks for more itself)."""
        with self.db.transaction() as conn:
            return conn.execute(
                f"SELECT 1 FROM messages m JOIN tenants t ON t.id = m.tenant_id"
                f" JOIN accounts a ON a.tenant_id = m.tenant_id AND a.id = m.account_id"
                f" WHERE m.tenant_id = %(tenant)s AND {DUE}"
                f" AND (a.dispatch_lease_until IS NULL OR a.dispatch_lease_until < %(now)s) LIMIT 1",
                {"tenant": tenant_id, "now": now},
            ).fetchone() is not None

    def tenants_with_due(self, now: int) -> list[Row]:
        with self.db.transaction() as conn:
            return conn.execute(
                f"SELECT DISTINCT t.id, t.queue_url FROM messages m JOIN tenants t ON t.id = m.tenant_id WHERE {DUE}",
                {"now": now},
            ).fetchall()

    def record_outcome(self, *, pk: Any, owner: str, changes: Row, event: Row, metrics: Sequence[str]) -> bool:
        """Apply one attempt's outcome: row update, its event and counters, atomically.

        Only the lease holder may record; a message deleted meanwhile records nothing.
        """
        sets = ", ".join(f"{k} = %({k})s" for k in changes)
        # One round trip: the row update, its event and the counters, or nothing at all.
        sql = f"""
            WITH m AS (
                UPDATE messages SET {sets}, claim_owner = NULL, claim_expires = NULL, updated_at = now()
                WHERE pk = %(pk)s AND claim_owner = %(owner)s
                RETURNING pk, tenant_id, account_id
            ), e AS (
                {INSERT_EVENT}
                SELECT pk, tenant_id, %(event_type)s, %(event_ts)s, %(description)s, %(metadata)s FROM m
            ), c AS (
                INSERT INTO metric_counters (tenant_id, account_id, name, value)
                SELECT m.tenant_id, m.account_id, n, 1 FROM m, unnest(%(metrics)s::text[]) AS n
                ON CONFLICT (tenant_id, account_id, name)
                DO UPDATE SET value = metric_counters.value + 1
            )
            SELECT count(*) AS n FROM m
        """
        params = {**changes, "pk": pk, "owner": owner, "event_type": event["type"],
                  "event_ts": event["ts"], "description": event.get("description"),
                  "metadata": jsonb(event.get("metadata")), "metrics": list(metrics)}
        with self.db.transaction() as conn:
            row = conn.execute(sql, params).fetchone()
            return bool(row and row["n"])

    def release_claim(self, pk: Any, owner: str, deferred_ts: int | None) -> None:
        """Give a leased message back untouched (for example on shutdown)."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE messages SET claim_owner = NULL, claim_expires = NULL,"
                " deferred_ts = COALESCE(deferred_ts, %s) WHERE pk = %s AND claim_owner = %s",
                (deferred_ts, pk, owner),
            )
