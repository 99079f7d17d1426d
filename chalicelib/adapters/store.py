"""SQL of Mail Proxy: every statement, always with bound parameters."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from psycopg.types.json import Jsonb

from chalicelib.adapters.database import Database
from chalicelib.domain.records import Row

_TENANT_COLUMNS = (
    "name", "client_auth", "client_base_url", "client_sync_path", "client_attachment_path",
    "rate_limits", "large_file_config", "active", "retention_days",
)
_JSON_COLUMNS = {"client_auth", "rate_limits", "large_file_config"}

_ACCOUNT_COLUMNS = (
    "host", "port", "username", "password_enc", "ttl", "limit_per_minute", "limit_per_hour",
    "limit_per_day", "limit_behavior", "use_tls", "batch_size", "is_pec_account", "imap_host",
    "imap_port", "imap_user", "imap_password_enc", "imap_ssl",
)

# A message is due when unfinished, not deferred into the future, not leased, its tenant
# active and its batch not held. Shared by the claim and the "more work?" checks.
_DUE = """
    m.status = 'pending'
    AND (m.deferred_ts IS NULL OR m.deferred_ts <= %(now)s)
    AND (m.claim_expires IS NULL OR m.claim_expires < %(now)s)
    AND t.active
    AND NOT ('*' = ANY (t.suspended_batches))
    AND (m.batch_code IS NULL OR NOT (m.batch_code = ANY (t.suspended_batches)))
"""


def _json(value: Any) -> Any:
    return None if value is None else Jsonb(value)


class Store:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ---------------------------------------------------------------- tenants
    def tenant_exists(self, tenant_id: str) -> bool:
        with self.db.transaction() as conn:
            return conn.execute("SELECT 1 FROM tenants WHERE id = %s", (tenant_id,)).fetchone() is not None

    def get_tenant(self, tenant_id: str) -> Row | None:
        with self.db.transaction() as conn:
            return conn.execute("SELECT * FROM tenants WHERE id = %s", (tenant_id,)).fetchone()

    def list_tenants(self, active_only: bool = False) -> list[Row]:
        sql = "SELECT * FROM tenants"
        if active_only:
            sql += " WHERE active"
        with self.db.transaction() as conn:
            return conn.execute(sql + " ORDER BY id").fetchall()

    def insert_tenant(
        self, tenant_id: str, fields: Row, signing_secret_enc: str, key_hash: str,
        queue_url: str | None, dlq_url: str | None,
    ) -> bool:
        """Insert a new tenant with its key; False if the id exists already."""
        cols = ["id", *fields.keys(), "signing_secret_enc", "queue_url", "dlq_url"]
        vals = [tenant_id, *(_json(v) if k in _JSON_COLUMNS else v for k, v in fields.items()),
                signing_secret_enc, queue_url, dlq_url]
        placeholders = ", ".join(["%s"] * len(cols))
        with self.db.transaction() as conn:
            row = conn.execute(
                f"INSERT INTO tenants ({', '.join(cols)}) VALUES ({placeholders})"
                " ON CONFLICT (id) DO NOTHING RETURNING id",
                vals,
            ).fetchone()
            if row is None:
                return False
            conn.execute(
                "INSERT INTO api_keys (tenant_id, key_hash) VALUES (%s, %s)", (tenant_id, key_hash)
            )
            return True

    def update_tenant(self, tenant_id: str, fields: Row) -> bool:
        if not fields:
            return self.tenant_exists(tenant_id)
        sets = ", ".join(f"{k} = %s" for k in fields)
        vals = [_json(v) if k in _JSON_COLUMNS else v for k, v in fields.items()]
        with self.db.transaction() as conn:
            row = conn.execute(
                f"UPDATE tenants SET {sets}, updated_at = now() WHERE id = %s RETURNING id",
                [*vals, tenant_id],
            ).fetchone()
            return row is not None

    def set_queue_urls(self, tenant_id: str, queue_url: str, dlq_url: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE tenants SET queue_url = %s, dlq_url = %s WHERE id = %s",
                (queue_url, dlq_url, tenant_id),
            )

    def delete_tenant(self, tenant_id: str) -> Row | None:
        """Delete a tenant and everything it owns (cascades); returns the deleted row."""
        with self.db.transaction() as conn:
            return conn.execute(
                "DELETE FROM tenants WHERE id = %s RETURNING *", (tenant_id,)
            ).fetchone()

    def set_signing_secret(self, tenant_id: str, secret_enc: str) -> bool:
        with self.db.transaction() as conn:
            return conn.execute(
                "UPDATE tenants SET signing_secret_enc = %s, updated_at = now()"
                " WHERE id = %s RETURNING id",
                (secret_enc, tenant_id),
            ).fetchone() is not None

    def change_suspension(self, tenant_id: str, batch_code: str | None, suspend: bool) -> Row | None:
        """Apply suspend/activate atomically; returns the new set, or None if no tenant.

        Activating one batch under a full suspension is refused: returns {"refused": True}.
        """
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT suspended_batches FROM tenants WHERE id = %s FOR UPDATE", (tenant_id,)
            ).fetchone()
            if row is None:
                return None
            current: list[str] = list(row["suspended_batches"])
            if suspend:
                if batch_code is None:
                    new = ["*"]
                elif "*" in current:
                    new = current
                else:
                    new = sorted(set(current) | {batch_code})
            else:
                if batch_code is None:
                    new = []
                elif "*" in current:
                    return {"refused": True}
                else:
                    new = sorted(set(current) - {batch_code})
            conn.execute(
                "UPDATE tenants SET suspended_batches = %s, updated_at = now() WHERE id = %s",
                (new, tenant_id),
            )
            return {"suspended_batches": new}

    def count_unfinished(self, tenant_id: str, batch_code: str | None = None) -> int:
        sql = "SELECT count(*) AS n FROM messages WHERE tenant_id = %s AND status = 'pending'"
        params: list[Any] = [tenant_id]
        if batch_code is not None:
            sql += " AND batch_code = %s"
            params.append(batch_code)
        with self.db.transaction() as conn:
            row = conn.execute(sql, params).fetchone()
            return int(row["n"]) if row else 0

    # ---------------------------------------------------------------- api keys
    def find_key(self, key_hash: str) -> Row | None:
        with self.db.transaction() as conn:
            return conn.execute(
                "SELECT tenant_id, expires_at FROM api_keys WHERE key_hash = %s", (key_hash,)
            ).fetchone()

    def replace_key(self, tenant_id: str, key_hash: str, expires_at: int | None) -> bool:
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

    def revoke_key(self, tenant_id: str) -> bool:
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM tenants WHERE id = %s", (tenant_id,)).fetchone() is None:
                return False
            conn.execute("DELETE FROM api_keys WHERE tenant_id = %s", (tenant_id,))
            return True

    # ---------------------------------------------------------------- accounts
    def upsert_account(self, tenant_id: str, account_id: str, fields: Row) -> bool:
        """Full replacement of an account; False when the tenant does not exist."""
        cols = ", ".join(_ACCOUNT_COLUMNS)
        placeholders = ", ".join(["%s"] * len(_ACCOUNT_COLUMNS))
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _ACCOUNT_COLUMNS)
        vals = [fields.get(c) for c in _ACCOUNT_COLUMNS]
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM tenants WHERE id = %s", (tenant_id,)).fetchone() is None:
                return False
            conn.execute(
                f"INSERT INTO accounts (tenant_id, id, {cols}) VALUES (%s, %s, {placeholders})"
                f" ON CONFLICT (tenant_id, id) DO UPDATE SET {updates}, updated_at = now()",
                [tenant_id, account_id, *vals],
            )
            # Every account exposes its four metric series from the start.
            conn.execute(
                "INSERT INTO metric_counters (tenant_id, account_id, name)"
                " SELECT %s, %s, n FROM unnest(%s::text[]) AS n ON CONFLICT DO NOTHING",
                (tenant_id, account_id, list(METRIC_NAMES)),
            )
            return True

    def list_accounts(self, tenant_id: str) -> list[Row]:
        with self.db.transaction() as conn:
            return conn.execute(
                "SELECT * FROM accounts WHERE tenant_id = %s ORDER BY id", (tenant_id,)
            ).fetchall()

    def delete_account(self, tenant_id: str, account_id: str) -> bool:
        with self.db.transaction() as conn:
            return conn.execute(
                "DELETE FROM accounts WHERE tenant_id = %s AND id = %s RETURNING id",
                (tenant_id, account_id),
            ).fetchone() is not None

    # ---------------------------------------------------------------- submission
    def submission_context(
        self, tenant_ids: Sequence[str], keys: Sequence[tuple[str, str]]
    ) -> tuple[set[str], set[tuple[str, str]], dict[tuple[str, str], str]]:
        """Existing tenants, accounts of those tenants, and the status of known messages."""
        with self.db.transaction() as conn:
            tenants = {
                r["id"] for r in conn.execute(
                    "SELECT id FROM tenants WHERE id = ANY (%s)", (list(tenant_ids),)
                )
            }
            accounts = {
                (r["tenant_id"], r["id"]) for r in conn.execute(
                    "SELECT tenant_id, id FROM accounts WHERE tenant_id = ANY (%s)",
                    (list(tenant_ids),),
                )
            }
            status: dict[tuple[str, str], str] = {}
            if keys:
                for r in conn.execute(
                    "SELECT m.tenant_id, m.id, m.status FROM messages m"
                    " JOIN unnest(%s::text[], %s::text[]) AS k(t, i)"
                    " ON m.tenant_id = k.t AND m.id = k.i",
                    ([k[0] for k in keys], [k[1] for k in keys]),
                ):
                    status[(r["tenant_id"], r["id"])] = r["status"]
            return tenants, accounts, status

    def store_messages(
        self, rows: list[Row], rejections: list[Row]
    ) -> set[tuple[str, str]]:
        """Insert or replace unfinished messages in one statement and record rejections.

        Returns the keys stored; a key missing from the result met a finished message
        (it finished between the context read and this write) and is "already sent".
        """
        stored: set[tuple[str, str]] = set()
        with self.db.transaction() as conn:
            if rows:
                cur = conn.execute(
                    """
                    INSERT INTO messages (pk, tenant_id, id, account_id, priority, batch_code,
                                          payload, secrets_enc, deferred_ts, is_pec)
                    SELECT gen_random_uuid(), r->>'tenant_id', r->>'id', r->>'account_id',
                           (r->>'priority')::smallint, r->>'batch_code', r->'payload',
                           r->>'secrets_enc', (r->>'deferred_ts')::bigint,
                           COALESCE(a.is_pec_account, false)
                    FROM jsonb_array_elements(%s::jsonb) AS r
                    LEFT JOIN accounts a ON a.tenant_id = r->>'tenant_id' AND a.id = r->>'account_id'
                    ON CONFLICT (tenant_id, id) DO UPDATE SET
                        account_id = EXCLUDED.account_id, priority = EXCLUDED.priority,
                        batch_code = EXCLUDED.batch_code, payload = EXCLUDED.payload,
                        secrets_enc = EXCLUDED.secrets_enc, deferred_ts = EXCLUDED.deferred_ts,
                        is_pec = EXCLUDED.is_pec, retry_count = 0, last_error = NULL,
                        updated_at = now()
                    WHERE messages.status = 'pending'
                    RETURNING tenant_id, id
                    """,
                    (json.dumps(rows),),
                )
                stored = {(r["tenant_id"], r["id"]) for r in cur.fetchall()}
            if rejections:
                with conn.cursor() as cur2:
                    cur2.executemany(
                        "INSERT INTO rejections (tenant_id, id, error_ts, error)"
                        " VALUES (%(tenant_id)s, %(id)s, %(error_ts)s, %(error)s)",
                        rejections,
                    )
        return stored

    # ---------------------------------------------------------------- messages
    def list_messages(self, tenant_id: str, active_only: bool) -> list[Row]:
        sql = """
            SELECT m.*, t.name AS tenant_name, t.suspended_batches,
                   (SELECT CASE WHEN count(*) > 0 AND count(*) = count(e.reported_ts)
                                THEN max(e.reported_ts) END
                      FROM events e WHERE e.message_pk = m.pk) AS reported_ts
            FROM messages m JOIN tenants t ON t.id = m.tenant_id
            WHERE m.tenant_id = %s
        """
        if active_only:
            sql += " AND m.status = 'pending'"
        sql += " ORDER BY m.priority, m.created_at, m.id"
        with self.db.transaction() as conn:
            return conn.execute(sql, (tenant_id,)).fetchall()

    def events_of(self, pks: Sequence[Any]) -> list[Row]:
        if not pks:
            return []
        with self.db.transaction() as conn:
            return conn.execute(
                "SELECT * FROM events WHERE message_pk = ANY (%s) ORDER BY event_ts, event_id",
                (list(pks),),
            ).fetchall()

    def delete_messages(self, tenant_id: str, ids: Sequence[str]) -> tuple[int, list[str]]:
        """Delete the tenant's messages with those ids (events cascade)."""
        with self.db.transaction() as conn:
            deleted = {
                r["id"] for r in conn.execute(
                    "DELETE FROM messages WHERE tenant_id = %s AND id = ANY (%s) RETURNING id",
                    (tenant_id, list(ids)),
                )
            }
        return len(deleted), sorted(set(ids) - deleted)

    # ---------------------------------------------------------------- dispatch
    def dispatch_accounts(self, tenant_id: str) -> tuple[Row | None, list[Row]]:
        with self.db.transaction() as conn:
            tenant = conn.execute("SELECT * FROM tenants WHERE id = %s", (tenant_id,)).fetchone()
            accounts = conn.execute(
                "SELECT * FROM accounts WHERE tenant_id = %s ORDER BY id", (tenant_id,)
            ).fetchall()
            instance = conn.execute("SELECT * FROM instance_settings WHERE id = 1").fetchone()
        if tenant is not None:
            tenant["instance"] = instance or {}
        return tenant, accounts

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

    def claim(
        self, tenant_id: str, account_id: str, owner: str, now: int, lease: int, limit: int
    ) -> list[Row]:
        """Lease up to ``limit`` due messages of one account, in dispatch order."""
        with self.db.transaction() as conn:
            rows = conn.execute(
                f"""
                WITH due AS (
                    SELECT m.pk FROM messages m JOIN tenants t ON t.id = m.tenant_id
                    WHERE m.tenant_id = %(tenant)s AND m.account_id = %(account)s AND {_DUE}
                    ORDER BY m.priority, m.created_at, m.id
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
        rows.sort(key=lambda r: (r["priority"], r["created_at"], r["id"]))
        return rows

    def has_due(self, tenant_id: str, now: int) -> bool:
        """Due messages this tenant's next run could send: not those of an account another
        run is sending for (that run keeps going or asks for more itself)."""
        with self.db.transaction() as conn:
            return conn.execute(
                f"SELECT 1 FROM messages m JOIN tenants t ON t.id = m.tenant_id"
                f" JOIN accounts a ON a.tenant_id = m.tenant_id AND a.id = m.account_id"
                f" WHERE m.tenant_id = %(tenant)s AND {_DUE}"
                f" AND (a.dispatch_lease_until IS NULL OR a.dispatch_lease_until < %(now)s) LIMIT 1",
                {"tenant": tenant_id, "now": now},
            ).fetchone() is not None

    def tenants_with_due(self, now: int) -> list[Row]:
        with self.db.transaction() as conn:
            return conn.execute(
                f"SELECT DISTINCT t.id, t.queue_url FROM messages m"
                f" JOIN tenants t ON t.id = m.tenant_id WHERE {_DUE}",
                {"now": now},
            ).fetchall()

    def take_rate_slots(
        self, tenant_id: str, account_id: str, windows: Iterable[Any]
    ) -> list[Any]:
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

    def release_rate_slots(self, tenant_id: str, account_id: str, windows: Iterable[Any]) -> None:
        with self.db.transaction() as conn:
            for w in windows:
                conn.execute(
                    "UPDATE rate_counters SET used = GREATEST(used - 1, 0)"
                    " WHERE tenant_id = %s AND account_id = %s AND window_kind = %s"
                    " AND window_start = %s",
                    (tenant_id, account_id, w.kind, w.start),
                )

    def record_outcome(
        self, *, pk: Any, owner: str, changes: Row, event: Row, metrics: Sequence[str]
    ) -> bool:
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
                INSERT INTO events (message_pk, tenant_id, event_type, event_ts, description, metadata)
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
                  "metadata": _json(event.get("metadata")), "metrics": list(metrics)}
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

    # ---------------------------------------------------------------- metrics
    def metric_rows(self) -> tuple[list[Row], int]:
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT a.tenant_id, COALESCE(t.name, t.id) AS tenant_name, a.id AS account_id,"
                " n.name, COALESCE(c.value, 0) AS value"
                " FROM accounts a JOIN tenants t ON t.id = a.tenant_id"
                " CROSS JOIN unnest(%s::text[]) AS n(name)"
                " LEFT JOIN metric_counters c ON c.tenant_id = a.tenant_id"
                "  AND c.account_id = a.id AND c.name = n.name"
                " ORDER BY a.tenant_id, a.id, n.name",
                (list(METRIC_NAMES),),
            ).fetchall()
            pending = conn.execute(
                "SELECT count(*) AS n FROM messages WHERE status = 'pending'"
            ).fetchone()
        return rows, int(pending["n"]) if pending else 0

    # ---------------------------------------------------------------- reports
    def take_report_lease(self, tenant_id: str, now: float, seconds: float) -> Row | None:
        """Lease the tenant's report slot; None while another report is in flight."""
        with self.db.transaction() as conn:
            return conn.execute(
                "UPDATE tenants SET report_lease_until = %s WHERE id = %s"
                " AND (report_lease_until IS NULL OR report_lease_until < %s) RETURNING *",
                (now + seconds, tenant_id, now),
            ).fetchone()

    def unreported(self, tenant_id: str, limit: int) -> list[Row]:
        """Unacknowledged events and rejections of a tenant, in creation order."""
        with self.db.transaction() as conn:
            return conn.execute(
                """
                SELECT * FROM (
                    SELECT e.event_id AS seq, 'event' AS source, m.id, e.event_type, e.event_ts,
                           e.description, e.metadata
                    FROM events e JOIN messages m ON m.pk = e.message_pk
                    WHERE e.tenant_id = %(t)s AND e.reported_ts IS NULL
                    UNION ALL
                    SELECT r.rejection_id, 'rejection', r.id, 'error', r.error_ts, r.error, NULL
                    FROM rejections r WHERE r.tenant_id = %(t)s AND r.reported_ts IS NULL
                ) x ORDER BY seq LIMIT %(limit)s
                """,
                {"t": tenant_id, "limit": limit},
            ).fetchall()

    def finish_report(
        self, tenant_id: str, acked: list[Row], now: int, clock: float | None,
        failures: int, next_attempt: int | None,
    ) -> None:
        """Record a report's result: acks, sync clock, backoff; and free the lease."""
        events = [r["seq"] for r in acked if r["source"] == "event"]
        rejections = [r["seq"] for r in acked if r["source"] == "rejection"]
        with self.db.transaction() as conn:
            if events:
                conn.execute("UPDATE events SET reported_ts = %s WHERE event_id = ANY (%s)", (now, events))
            if rejections:
                conn.execute("UPDATE rejections SET reported_ts = %s WHERE rejection_id = ANY (%s)",
                             (now, rejections))
            conn.execute(
                "UPDATE tenants SET last_sync_ts = COALESCE(%s, last_sync_ts), report_failures = %s,"
                " report_next_attempt_ts = %s, report_lease_until = NULL WHERE id = %s",
                (clock, failures, next_attempt, tenant_id),
            )

    def release_report_lease(self, tenant_id: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("UPDATE tenants SET report_lease_until = NULL WHERE id = %s", (tenant_id,))

    def reset_sync(self, tenant_id: str) -> None:
        """run-now: clear the sync clock, DND and report backoff."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE tenants SET last_sync_ts = NULL, report_failures = 0,"
                " report_next_attempt_ts = NULL WHERE id = %s",
                (tenant_id,),
            )

    def tenants_due_for_report(self, now: float, interval: int) -> list[Row]:
        """Tenants with unreported entries past their backoff, or an empty sync due."""
        with self.db.transaction() as conn:
            return conn.execute(
                """
                SELECT t.id FROM tenants t
                WHERE t.client_base_url IS NOT NULL AND t.client_base_url <> ''
                  AND (t.report_next_attempt_ts IS NULL OR t.report_next_attempt_ts <= %(now)s)
                  AND (
                    EXISTS (SELECT 1 FROM events e WHERE e.tenant_id = t.id AND e.reported_ts IS NULL)
                    OR EXISTS (SELECT 1 FROM rejections r WHERE r.tenant_id = t.id AND r.reported_ts IS NULL)
                    OR (t.active AND (t.last_sync_ts IS NULL OR
                        (t.last_sync_ts <= %(now)s AND %(now)s - t.last_sync_ts >= %(interval)s)))
                  )
                ORDER BY t.id
                """,
                {"now": now, "interval": interval},
            ).fetchall()

    # ---------------------------------------------------------------- retention
    def apply_retention(self, now: int, tenant_id: str | None = None, threshold: int | None = None) -> int:
        """Remove finished messages whose events are all acknowledged long enough ago.

        Without ``threshold`` each tenant's ``retention_days`` applies.
        """
        limit = "%(now)s - t.retention_days::bigint * 86400" if threshold is None else "%(now)s - %(threshold)s"
        tenant_clause = "AND m.tenant_id = %(tenant)s" if tenant_id is not None else ""
        with self.db.transaction() as conn:
            removed = conn.execute(
                f"""
                DELETE FROM messages m USING tenants t
                WHERE t.id = m.tenant_id {tenant_clause} AND m.status <> 'pending'
                  AND NOT EXISTS (SELECT 1 FROM events e WHERE e.message_pk = m.pk AND e.reported_ts IS NULL)
                  AND (SELECT max(e.reported_ts) FROM events e WHERE e.message_pk = m.pk) <= {limit}
                RETURNING m.pk
                """,
                {"now": now, "tenant": tenant_id, "threshold": threshold},
            ).fetchall()
            conn.execute(
                f"DELETE FROM rejections r USING tenants t WHERE t.id = r.tenant_id"
                f" {tenant_clause.replace('m.', 'r.')} AND r.reported_ts IS NOT NULL"
                f" AND r.reported_ts <= {limit}",
                {"now": now, "tenant": tenant_id, "threshold": threshold},
            )
        return len(removed)

    # ---------------------------------------------------------------- heartbeats
    def beat(self, name: str, ts: int) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO heartbeats (name, beat_ts) VALUES (%s, %s)"
                " ON CONFLICT (name) DO UPDATE SET beat_ts = EXCLUDED.beat_ts",
                (name, ts),
            )

    def last_beat(self, name: str) -> int | None:
        with self.db.transaction() as conn:
            row = conn.execute("SELECT beat_ts FROM heartbeats WHERE name = %s", (name,)).fetchone()
            return int(row["beat_ts"]) if row else None

    # ---------------------------------------------------------------- instance
    def get_instance(self) -> Row | None:
        with self.db.transaction() as conn:
            return conn.execute("SELECT * FROM instance_settings WHERE id = 1").fetchone()

    def update_instance(self, fields: Row) -> None:
        """Partial update; a changed host, user or folder resets the IMAP UID state."""
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO instance_settings (id) VALUES (1) ON CONFLICT DO NOTHING")
            if not fields:
                return
            current = conn.execute("SELECT * FROM instance_settings WHERE id = 1 FOR UPDATE").fetchone()
            sets = [f"{k} = %({k})s" for k in fields]
            watched = ("bounce_imap_host", "bounce_imap_user", "bounce_imap_folder")
            if current and any(k in fields and fields[k] != current[k] for k in watched):
                sets += ["bounce_last_uid = NULL", "bounce_uidvalidity = NULL"]
            conn.execute(
                f"UPDATE instance_settings SET {', '.join(sets)}, updated_at = now() WHERE id = 1", fields
            )

    def take_bounce_lease(self, now: float, seconds: float, force: bool) -> Row | None:
        """Lease the bounce poll when enabled and due (or forced); None otherwise."""
        due = "" if force else " AND (bounce_next_poll_ts IS NULL OR bounce_next_poll_ts <= %(now)s)"
        with self.db.transaction() as conn:
            return conn.execute(
                "UPDATE instance_settings SET bounce_lease_until = %(until)s WHERE id = 1 AND bounce_enabled"
                " AND (bounce_lease_until IS NULL OR bounce_lease_until < %(now)s)" + due + " RETURNING *",
                {"now": now, "until": now + seconds},
            ).fetchone()

    def finish_bounce_poll(self, last_uid: int | None, uidvalidity: int | None, next_poll: int | None,
                           synced: bool) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE instance_settings SET bounce_lease_until = NULL, bounce_next_poll_ts = %s,"
                " bounce_last_uid = COALESCE(%s, bounce_last_uid),"
                " bounce_uidvalidity = COALESCE(%s, bounce_uidvalidity),"
                " bounce_last_sync = CASE WHEN %s THEN now() ELSE bounce_last_sync END WHERE id = 1",
                (next_poll, last_uid, uidvalidity, synced),
            )

    def bounce_poll_now(self) -> None:
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO instance_settings (id) VALUES (1) ON CONFLICT DO NOTHING")
            conn.execute("UPDATE instance_settings SET bounce_next_poll_ts = NULL WHERE id = 1")

    def bounce_candidates(self, mail_id: str) -> list[Row]:
        with self.db.transaction() as conn:
            return conn.execute(
                "SELECT pk, tenant_id, payload, sent_ts FROM messages"
                " WHERE id = %s AND status IN ('sent', 'bounced') ORDER BY sent_ts DESC NULLS LAST",
                (mail_id,),
            ).fetchall()

    def record_bounce(self, pk: Any, now: int, bounce_type: str, code: str | None, reason: str | None) -> None:
        meta = {"bounce_type": bounce_type, "bounce_code": code, "bounce_reason": reason}
        with self.db.transaction() as conn:
            row = conn.execute(
                "UPDATE messages SET status = 'bounced', bounce_type = %s, bounce_code = %s,"
                " bounce_reason = %s, bounce_ts = %s, updated_at = now() WHERE pk = %s RETURNING tenant_id",
                (bounce_type, code, reason, now, pk),
            ).fetchone()
            if row is not None:
                conn.execute(
                    "INSERT INTO events (message_pk, tenant_id, event_type, event_ts, description, metadata)"
                    " VALUES (%s, %s, 'bounce', %s, %s, %s)",
                    (pk, row["tenant_id"], now, reason, _json(meta)),
                )

    # ---------------------------------------------------------------- command log
    def log_command(
        self, ts: int, endpoint: str, tenant_id: str | None, payload: Any, status: int
    ) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO command_log (command_ts, endpoint, tenant_id, payload, response_status)"
                " VALUES (%s, %s, %s, %s, %s)",
                (ts, endpoint, tenant_id, _json(payload), status),
            )

    def command_log(
        self, tenant_id: str | None, since_ts: int | None, until_ts: int | None,
        endpoint_filter: str | None, limit: int | None,
    ) -> list[Row]:
        clauses: list[str] = []
        params: list[Any] = []
        if tenant_id is not None:
            clauses.append("tenant_id = %s")
            params.append(tenant_id)
        if since_ts is not None:
            clauses.append("command_ts >= %s")
            params.append(since_ts)
        if until_ts is not None:
            clauses.append("command_ts <= %s")
            params.append(until_ts)
        if endpoint_filter:
            clauses.append("strpos(endpoint, %s) > 0")
            params.append(endpoint_filter)
        sql = "SELECT * FROM command_log"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY command_ts, id"
        if limit is not None:
            sql += " LIMIT %s"
            params.append(max(0, limit))
        with self.db.transaction() as conn:
            return conn.execute(sql, params).fetchall()


METRIC_NAMES = ("sent", "errors", "deferred", "rate_limited")

