"""SMTP accounts of a tenant."""

from __future__ import annotations

from typing import cast

from chalicelib.adapters.repositories.base import Repository
from chalicelib.domain import metrics
from chalicelib.domain.rows import AccountRow, Row

COLUMNS = (
    "host",
    "port",
    "username",
    "password_enc",
    "ttl",
    "limit_per_minute",
    "limit_per_hour",
    "limit_per_day",
    "limit_behavior",
    "use_tls",
    "batch_size",
    "is_pec_account",
    "imap_host",
    "imap_port",
    "imap_user",
    "imap_password_enc",
    "imap_ssl",
)


class AccountRepository(Repository):
    def upsert(self, tenant_id: str, account_id: str, fields: Row) -> bool:
        """Full replacement of an account; False when the tenant does not exist."""
        cols = ", ".join(COLUMNS)
        placeholders = ", ".join(["%s"] * len(COLUMNS))
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS)
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM tenants WHERE id = %s", (tenant_id,)).fetchone() is None:
                return False
            conn.execute(
                f"INSERT INTO accounts (tenant_id, id, {cols}) VALUES (%s, %s, {placeholders})"
                # Saved again: its secrets are sealed with today's key, so any flag is gone; its
                # limits may have changed, so any rate hold is too.
                f" ON CONFLICT (tenant_id, id) DO UPDATE SET {updates}, secret_error = NULL,"
                f" rate_held_until = NULL, updated_at = now()",
                [tenant_id, account_id, *(fields.get(c) for c in COLUMNS)],
            )
            # Every account exposes its metric series from the start.
            conn.execute(
                "INSERT INTO metric_counters (tenant_id, account_id, name)"
                " SELECT %s, %s, n FROM unnest(%s::text[]) AS n ON CONFLICT DO NOTHING",
                (tenant_id, account_id, list(metrics.NAMES)),
            )
            return True

    def list_for(self, tenant_id: str) -> list[AccountRow]:
        with self.db.transaction() as conn:
            return cast(
                list[AccountRow],
                conn.execute("SELECT * FROM accounts WHERE tenant_id = %s ORDER BY id", (tenant_id,)).fetchall(),
            )

    def unreadable(self, limit: int) -> tuple[list[Row], int]:
        """Accounts flagged with a secret this deployment cannot read: the first ``limit``
        and how many there are (a partial index keeps this cheap at any account count)."""
        with self.db.statement() as conn:
            rows = conn.execute(
                "SELECT tenant_id, id AS account_id, secret_error FROM accounts WHERE secret_error IS NOT NULL"
                " ORDER BY tenant_id, id LIMIT %s",
                (limit,),
            ).fetchall()
            total = conn.execute("SELECT count(*) AS n FROM accounts WHERE secret_error IS NOT NULL").fetchone()
        return rows, int(total["n"]) if total else 0

    def delete(self, tenant_id: str, account_id: str) -> bool:
        with self.db.transaction() as conn:
            return (
                conn.execute(
                    "DELETE FROM accounts WHERE tenant_id = %s AND id = %s RETURNING id", (tenant_id, account_id)
                ).fetchone()
                is not None
            )
