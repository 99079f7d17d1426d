"""Messages: submission, listing, deletion, and their event history."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from chalicelib.adapters.repositories.base import DISPATCH_ORDER_SQL, Repository
from chalicelib.domain.finding import Query
from chalicelib.domain.rows import Row

Key = tuple[str, str]  # (tenant_id, id)

# A suspension holds a message: the whole tenant, or its batch (domain.messages.held).
_HELD = "('*' = ANY (t.suspended_batches) OR COALESCE(m.batch_code = ANY (t.suspended_batches), false))"
# The derived statuses of docs/api.md §4.6 (domain.messages.derive_status), in SQL.
_STATUS_SQL = {
    "pending": f"(m.status = 'pending' AND NOT {_HELD} AND m.deferred_ts IS NULL)",
    "deferred": f"(m.status = 'pending' AND NOT {_HELD} AND m.deferred_ts IS NOT NULL)",
    "suspended": f"(m.status = 'pending' AND {_HELD})",
    "sent": "m.status = %(status)s",
    "error": "m.status = %(status)s",
    "bounced": "m.status = %(status)s",
}


class MessageRepository(Repository):
    def submission_context(
        self, tenant_ids: Sequence[str], keys: Sequence[Key]
    ) -> tuple[dict[str, str | None], set[Key], dict[Key, str]]:
        """Existing tenants (with their queue's URL), accounts of those tenants, and the status
        of known messages."""
        # One round trip: the tenants, their accounts and the messages already known.
        with self.db.statement() as conn:
            rows = conn.execute(
                "SELECT 't' AS kind, id AS tenant_id, NULL AS id, queue_url AS value FROM tenants"
                " WHERE id = ANY (%(t)s)"
                " UNION ALL SELECT 'a', tenant_id, id, NULL FROM accounts WHERE tenant_id = ANY (%(t)s)"
                " UNION ALL SELECT 'm', m.tenant_id, m.id, m.status FROM messages m"
                " JOIN unnest(%(kt)s::text[], %(ki)s::text[]) AS k(t, i) ON m.tenant_id = k.t AND m.id = k.i",
                {"t": list(tenant_ids), "kt": [k[0] for k in keys], "ki": [k[1] for k in keys]},
            ).fetchall()
        tenants: dict[str, str | None] = {}
        accounts: set[Key] = set()
        status: dict[Key, str] = {}
        for r in rows:
            if r["kind"] == "t":
                tenants[r["tenant_id"]] = r["value"]
            elif r["kind"] == "a":
                accounts.add((r["tenant_id"], r["id"]))
            else:
                status[(r["tenant_id"], r["id"])] = r["value"]
        return tenants, accounts, status

    def store(self, rows: list[Row], rejections: list[Row]) -> set[Key]:
        """Insert or replace unfinished messages in one statement and record rejections.

        Returns the keys stored; a key missing from the result met a finished message
        (it finished between the context read and this write) and is "already sent".
        """
        stored: set[Key] = set()
        # One statement needs no transaction around it (two round trips fewer per submit).
        with self.db.transaction() if rejections else self.db.statement() as conn:
            if rows:
                # ``held``: the message's batch is suspended (migration 017). The tenant row is
                # locked (as its foreign key check does) before the list is read, so that a
                # suspend or activate either waits for this insert, whose messages its settle
                # then sees, or commits first, and its list is read here.
                cur = conn.execute(
                    """
                    WITH t AS MATERIALIZED (
                        SELECT id, suspended_batches FROM tenants WHERE id = ANY (%(tenants)s) FOR KEY SHARE
                    )
                    INSERT INTO messages (pk, tenant_id, id, account_id, priority, batch_code,
                                          payload, secrets_enc, deferred_ts, is_pec, recipients, held)
                    SELECT gen_random_uuid(), r->>'tenant_id', r->>'id', r->>'account_id',
                           (r->>'priority')::smallint, r->>'batch_code', r->'payload',
                           r->>'secrets_enc', (r->>'deferred_ts')::bigint,
                           COALESCE(a.is_pec_account, false),
                           ARRAY(SELECT jsonb_array_elements_text(COALESCE(r->'recipients', '[]'::jsonb))),
                           COALESCE(r->>'batch_code' = ANY (t.suspended_batches), false)
                    FROM jsonb_array_elements(%(rows)s::jsonb) AS r
                    LEFT JOIN accounts a ON a.tenant_id = r->>'tenant_id' AND a.id = r->>'account_id'
                    LEFT JOIN t ON t.id = r->>'tenant_id'
                    ON CONFLICT (tenant_id, id) DO UPDATE SET
                        account_id = EXCLUDED.account_id, priority = EXCLUDED.priority,
                        batch_code = EXCLUDED.batch_code, payload = EXCLUDED.payload,
                        secrets_enc = EXCLUDED.secrets_enc, deferred_ts = EXCLUDED.deferred_ts,
                        is_pec = EXCLUDED.is_pec, recipients = EXCLUDED.recipients,
                        held = EXCLUDED.held, retry_count = 0, last_error = NULL,
                        updated_at = now()
                    WHERE messages.status = 'pending'
                    RETURNING tenant_id, id
                    """,
                    {"tenants": sorted({r["tenant_id"] for r in rows}), "rows": json.dumps(rows)},
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

    def find(self, tenant_id: str, active_only: bool, query: Query, limit: int | None) -> list[Row]:
        """The tenant's messages matching ``query``, in the v1 order, after its cursor."""
        clauses = ["m.tenant_id = %(t)s"]
        params: dict[str, Any] = {"t": tenant_id, "limit": limit}
        if active_only:
            clauses.append("m.status = 'pending'")
        if query.status is not None:
            clauses.append(_STATUS_SQL[query.status])
            params["status"] = query.status
        for column in ("batch_code", "account_id"):
            if getattr(query, column) is not None:
                clauses.append(f"m.{column} = %({column})s")
                params[column] = getattr(query, column)
        if query.since is not None:
            clauses.append("m.created_at >= to_timestamp(%(since)s)")
            params["since"] = query.since
        if query.until is not None:
            clauses.append("m.created_at <= to_timestamp(%(until)s)")
            params["until"] = query.until
        if query.q is not None:
            clauses.append("(m.id = %(q)s OR m.recipients @> ARRAY[lower(%(q)s)])")
            params["q"] = query.q
        if query.after is not None:
            clauses.append("(m.priority, m.created_at, m.id) > (%(ap)s, %(ac)s::timestamptz, %(ai)s)")
            params.update(ap=query.after[0], ac=query.after[1], ai=query.after[2])
        sql = f"""
            SELECT m.*, t.name AS tenant_name, t.suspended_batches, a.rate_held_until,
                   (SELECT CASE WHEN count(*) > 0 AND count(*) = count(e.reported_ts)
                                THEN max(e.reported_ts) END
                      FROM events e WHERE e.message_pk = m.pk) AS reported_ts
            FROM messages m JOIN tenants t ON t.id = m.tenant_id
            LEFT JOIN accounts a ON a.tenant_id = m.tenant_id AND a.id = m.account_id
            WHERE {" AND ".join(clauses)} ORDER BY {DISPATCH_ORDER_SQL}
        """ + (" LIMIT %(limit)s" if limit is not None else "")
        with self.db.statement() as conn:
            return conn.execute(sql, params).fetchall()

    def events_of(self, pks: Sequence[Any]) -> list[Row]:
        if not pks:
            return []
        with self.db.statement() as conn:
            return conn.execute(
                "SELECT * FROM events WHERE message_pk = ANY (%s) ORDER BY event_ts, event_id", (list(pks),)
            ).fetchall()

    def delete(self, tenant_id: str, ids: Sequence[str]) -> tuple[int, list[str]]:
        """Delete the tenant's messages with those ids (events cascade)."""
        with self.db.transaction() as conn:
            deleted = {
                r["id"]
                for r in conn.execute(
                    "DELETE FROM messages WHERE tenant_id = %s AND id = ANY (%s) RETURNING id", (tenant_id, list(ids))
                )
            }
        return len(deleted), sorted(set(ids) - deleted)

    def count_unfinished(self, tenant_id: str, batch_code: str | None = None) -> int:
        sql = "SELECT count(*) AS n FROM messages WHERE tenant_id = %s AND status = 'pending'"
        params: list[Any] = [tenant_id]
        if batch_code is not None:
            sql += " AND batch_code = %s"
            params.append(batch_code)
        with self.db.transaction() as conn:
            row = conn.execute(sql, params).fetchone()
            return int(row["n"]) if row else 0
