"""Tenants and their API keys."""

from __future__ import annotations

from typing import cast

from chalicelib.adapters.repositories.base import Repository, jsonb
from chalicelib.domain.messages import batches_changed, suspended_after
from chalicelib.domain.rows import Row, TenantRow

_JSON_COLUMNS = {"client_auth", "rate_limits", "large_file_config", "unsubscribe", "dkim"}


def _value(column: str, value: object) -> object:
    return jsonb(value) if column in _JSON_COLUMNS else value


class TenantRepository(Repository):
    def exists(self, tenant_id: str) -> bool:
        with self.db.transaction() as conn:
            return conn.execute("SELECT 1 FROM tenants WHERE id = %s", (tenant_id,)).fetchone() is not None

    def get(self, tenant_id: str) -> TenantRow | None:
        with self.db.transaction() as conn:
            return cast(TenantRow | None, conn.execute("SELECT * FROM tenants WHERE id = %s", (tenant_id,)).fetchone())

    def list_all(self, active_only: bool = False) -> list[TenantRow]:
        sql = "SELECT * FROM tenants"
        if active_only:
            sql += " WHERE active"
        with self.db.transaction() as conn:
            return cast(list[TenantRow], conn.execute(sql + " ORDER BY id").fetchall())

    def insert(
        self,
        tenant_id: str,
        fields: Row,
        signing_secret_enc: str,
        key_hash: str,
        queue_url: str | None,
        dlq_url: str | None,
    ) -> bool:
        """Insert a new tenant with its key; False if the id exists already."""
        cols = ["id", *fields.keys(), "signing_secret_enc", "queue_url", "dlq_url"]
        vals = [tenant_id, *(_value(k, v) for k, v in fields.items()), signing_secret_enc, queue_url, dlq_url]
        placeholders = ", ".join(["%s"] * len(cols))
        with self.db.transaction() as conn:
            row = conn.execute(
                f"INSERT INTO tenants ({', '.join(cols)}) VALUES ({placeholders})"
                " ON CONFLICT (id) DO NOTHING RETURNING id",
                vals,
            ).fetchone()
            if row is None:
                return False
            conn.execute("INSERT INTO api_keys (tenant_id, key_hash) VALUES (%s, %s)", (tenant_id, key_hash))
            return True

    def update(self, tenant_id: str, fields: Row) -> bool:
        if not fields:
            return self.exists(tenant_id)
        sets = ", ".join(f"{k} = %s" for k in fields)
        vals = [_value(k, v) for k, v in fields.items()]
        with self.db.transaction() as conn:
            row = conn.execute(
                f"UPDATE tenants SET {sets}, updated_at = now() WHERE id = %s RETURNING id",
                [*vals, tenant_id],
            ).fetchone()
            return row is not None

    def set_queue_urls(self, tenant_id: str, queue_url: str | None, dlq_url: str | None) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE tenants SET queue_url = %s, dlq_url = %s WHERE id = %s", (queue_url, dlq_url, tenant_id)
            )

    def delete(self, tenant_id: str) -> TenantRow | None:
        """Delete a tenant and everything it owns (cascades); returns the deleted row."""
        with self.db.transaction() as conn:
            return cast(
                TenantRow | None, conn.execute("DELETE FROM tenants WHERE id = %s RETURNING *", (tenant_id,)).fetchone()
            )

    def set_signing_secret(self, tenant_id: str, secret_enc: str) -> bool:
        with self.db.transaction() as conn:
            return (
                conn.execute(
                    "UPDATE tenants SET signing_secret_enc = %s, updated_at = now() WHERE id = %s RETURNING id",
                    (secret_enc, tenant_id),
                ).fetchone()
                is not None
            )

    def change_suspension(self, tenant_id: str, batch_code: str | None, suspend: bool) -> Row | None:
        """Apply suspend/activate atomically (the rule: domain.messages.suspended_after).

        Returns ``{"suspended_batches": [...], "hold_changes": [...]}`` (the batches whose
        messages are now to be set aside or brought back, recorded in the same transaction for
        a settle to finish: repositories/holds.py), ``{"refused": True}``, or None if no tenant.
        """
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT suspended_batches FROM tenants WHERE id = %s FOR UPDATE", (tenant_id,)
            ).fetchone()
            if row is None:
                return None
            new = suspended_after(row["suspended_batches"], batch_code, suspend)
            if new is None:
                return {"refused": True}
            conn.execute(
                "UPDATE tenants SET suspended_batches = %s, updated_at = now() WHERE id = %s", (new, tenant_id)
            )
            changes = conn.execute(
                "INSERT INTO hold_changes (tenant_id, batch_code) SELECT %s, b FROM unnest(%s::text[]) AS b"
                " ON CONFLICT (tenant_id, batch_code) DO UPDATE SET version = EXCLUDED.version"
                " RETURNING tenant_id, batch_code, version",
                (tenant_id, batches_changed(row["suspended_batches"], new)),
            ).fetchall()
            return {"suspended_batches": new, "hold_changes": changes}


class KeyRepository(Repository):
    """One API key per tenant, stored as a hash."""

    def find(self, key_hash: str) -> Row | None:
        with self.db.statement() as conn:
            return conn.execute(
                "SELECT tenant_id, expires_at FROM api_keys WHERE key_hash = %s", (key_hash,)
            ).fetchone()

    def replace(self, tenant_id: str, key_hash: str, expires_at: int | None) -> bool:
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM tenants WHERE id = %s", (tenant_id,)).fetchone() is None:
                return False
            conn.execute(
                "INSERT INTO api_keys (tenant_id, key_hash, expires_at) VALUES (%s, %s, %s)"
                " ON CONFLICT (tenant_id) DO UPDATE SET key_hash = EXCLUDED.key_hash,"
                " expires_at = EXCLUDED.expires_at, created_at = now()",
                (tenant_id, key_hash, expires_at),
            )
            return True

    def revoke(self, tenant_id: str) -> bool:
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM tenants WHERE id = %s", (tenant_id,)).fetchone() is None:
                return False
            conn.execute("DELETE FROM api_keys WHERE tenant_id = %s", (tenant_id,))
            return True
