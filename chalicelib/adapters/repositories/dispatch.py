"""Dispatch: account leases, message claims and each attempt's recorded outcome."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from chalicelib.adapters.repositories.base import (
    DEFERRED_DUE,
    DISPATCH_ORDER_SQL,
    DUE,
    INSERT_EVENT,
    READY,
    Repository,
    jsonb,
)
from chalicelib.domain import metrics
from chalicelib.domain.messages import WHOLE_TENANT, dispatch_key
from chalicelib.domain.outcome import OutcomeRow
from chalicelib.domain.rate import held_metadata
from chalicelib.domain.rows import AccountRow, MessageRow, Row, TenantRow

# What an outcome may change, with the SQL type its JSON value is read as.
OUTCOME_COLUMNS = {
    "status": "text",
    "sent_ts": "bigint",
    "error": "text",
    "error_ts": "bigint",
    "last_error": "text",
    "retry_count": "integer",
    "deferred_ts": "bigint",
}


# Account ``a`` has a due message: a probe of each of migration 015's two indexes, so neither
# a held account's backlog nor one deferred into the future is ever read. OFFSET 0 keeps each
# probe a probe: without it the planner may hash the whole subquery once instead, and with
# stale statistics ("nothing is pending") it did, reading every pending message of every
# tenant for one probe (tests/functional/test_claim_plans.py).
_DUE_PROBES = f"""(EXISTS (SELECT 1 FROM messages m WHERE m.tenant_id = a.tenant_id AND m.account_id = a.id
              AND {READY} OFFSET 0)
      OR EXISTS (SELECT 1 FROM messages m WHERE m.tenant_id = a.tenant_id AND m.account_id = a.id
              AND {DEFERRED_DUE} OFFSET 0))"""

# A tenant ``t`` has an account, not held by its rate limit, with a due message. Leaves the
# account clause open for a caller's condition on ``a``; close it with ")".
_ACCOUNT_DUE = f"""EXISTS (SELECT 1 FROM accounts a WHERE a.tenant_id = t.id
    AND (a.rate_held_until IS NULL OR a.rate_held_until <= %(now)s) AND {_DUE_PROBES}"""

# The tenant's next run could send something (DispatchRepository.has_due).
HAS_DUE_SQL = f"""SELECT 1 FROM tenants t WHERE t.id = %(tenant)s AND {_ACCOUNT_DUE}
    AND (a.dispatch_lease_until IS NULL OR a.dispatch_lease_until < %(now)s))"""


# Lease up to %(limit)s due messages of one account (DispatchRepository.claim). Module level so
# that a test can EXPLAIN exactly what runs (tests/functional/test_claim_plans.py).
CLAIM_SQL = f"""
WITH account AS (
    UPDATE accounts SET dispatch_owner = %(owner)s, dispatch_lease_until = %(now)s + %(lease)s
    WHERE tenant_id = %(tenant)s AND id = %(account)s AND (dispatch_lease_until IS NULL
      OR dispatch_lease_until < %(now)s OR dispatch_owner = %(owner)s)
    RETURNING id
), candidates AS (
    -- The first ``limit`` of each index's half (base.READY, base.DEFERRED_DUE):
    -- what is read follows the batch, never the account's backlog.
    (SELECT m.pk FROM messages m JOIN tenants t ON t.id = m.tenant_id
     WHERE m.tenant_id = %(tenant)s AND m.account_id = %(account)s AND {READY}
       AND EXISTS (SELECT 1 FROM account)
     ORDER BY {DISPATCH_ORDER_SQL} LIMIT %(limit)s)
    UNION ALL
    (SELECT m.pk FROM messages m JOIN tenants t ON t.id = m.tenant_id
     WHERE m.tenant_id = %(tenant)s AND m.account_id = %(account)s AND {DEFERRED_DUE}
       AND EXISTS (SELECT 1 FROM account)
     ORDER BY m.deferred_ts LIMIT %(limit)s)
), due AS (
    -- Each candidate locked by its key alone, then checked: with no other
    -- condition on the locked scan no partial index can serve it, so it is
    -- a primary key lookup whatever the statistics say. (Checked in the same
    -- scan, stale statistics, "nothing is pending" in a young table, made the
    -- planner walk every pending message once per candidate.) FOR UPDATE
    -- returns each row's latest version, so the check sees what is locked.
    SELECT m.pk FROM candidates c CROSS JOIN LATERAL (
        SELECT x.* FROM messages x WHERE x.pk = c.pk LIMIT 1 FOR UPDATE SKIP LOCKED
    ) m
    JOIN tenants t ON t.id = %(tenant)s
    WHERE m.tenant_id = %(tenant)s AND {DUE}
    ORDER BY {DISPATCH_ORDER_SQL}
    LIMIT %(limit)s
)
UPDATE messages m SET claim_owner = %(owner)s,
       claim_expires = %(now)s + %(lease)s, deferred_ts = NULL
FROM due WHERE m.pk = due.pk
RETURNING m.*
"""


def claim_params(tenant_id: str, account_id: str, owner: str, now: int, lease: int, limit: int) -> dict[str, Any]:
    return {"tenant": tenant_id, "account": account_id, "owner": owner, "now": now, "lease": lease, "limit": limit}


class DispatchRepository(Repository):
    def tenant_and_accounts(self, tenant_id: str) -> tuple[TenantRow | None, list[AccountRow]]:
        """The tenant (with the instance settings under ``instance``) and its accounts, in one
        statement: every dispatch run starts here, for most of them with one message to send."""
        with self.db.statement() as conn:
            tenant = conn.execute(
                "SELECT t.*, (SELECT jsonb_build_object('bounce_enabled', i.bounce_enabled, 'bounce_return_path',"
                " i.bounce_return_path) FROM instance_settings i WHERE i.id = 1) AS instance,"
                " (SELECT COALESCE(jsonb_agg(to_jsonb(a) ORDER BY a.id), '[]') FROM accounts a"
                " WHERE a.tenant_id = t.id) AS accounts_json"
                " FROM tenants t WHERE t.id = %s",
                (tenant_id,),
            ).fetchone()
        if tenant is None:
            return None, []
        accounts = tenant.pop("accounts_json")
        for account in accounts:  # as JSON, the timestamps came as ISO text
            account["created_at"] = datetime.fromisoformat(account["created_at"])
            account["updated_at"] = datetime.fromisoformat(account["updated_at"])
        tenant["instance"] = tenant.get("instance") or {}
        return cast(TenantRow, tenant), cast(list[AccountRow], accounts)

    def flag_account(self, tenant_id: str, account_id: str, error: str) -> None:
        """The account's stored secret cannot be read with this deployment's key (shown by
        /status, /metrics and its alert until the account is saved again)."""
        with self.db.statement() as conn:
            conn.execute(
                "UPDATE accounts SET secret_error = %s WHERE tenant_id = %s AND id = %s"
                " AND secret_error IS DISTINCT FROM %s",
                (error, tenant_id, account_id, error),
            )

    def release_account_leases(self, tenant_id: str, owner: str) -> None:
        with self.db.statement() as conn:
            conn.execute(
                "UPDATE accounts SET dispatch_owner = NULL, dispatch_lease_until = NULL"
                " WHERE tenant_id = %s AND dispatch_owner = %s",
                (tenant_id, owner),
            )

    def claim(self, tenant_id: str, account_id: str, owner: str, now: int, lease: int, limit: int) -> list[MessageRow]:
        """Lease up to ``limit`` due messages of one account, in dispatch order (of the deferred
        ones that are due, the ``limit`` due first are the candidates), and the account with
        them: one run sends for an account at a time, so it never sees more than
        MAILPROXY_SMTP_CONNECTIONS connections, however many invocations run for its tenant.
        Nothing is claimed while another run holds the account; the holder may renew."""
        with self.db.statement() as conn:
            rows = conn.execute(
                CLAIM_SQL,
                claim_params(tenant_id, account_id, owner, now, lease, limit),
            ).fetchall()
        rows.sort(key=dispatch_key)  # UPDATE ... RETURNING keeps no order
        return cast(list[MessageRow], rows)

    def has_due(self, tenant_id: str, now: int) -> bool:
        """Due messages this tenant's next run could send: not those of an account another
        run is sending for (that run keeps going or asks for more itself), nor of an account
        whose rate window is spent."""
        with self.db.statement() as conn:
            return conn.execute(HAS_DUE_SQL, {"tenant": tenant_id, "now": now}).fetchone() is not None

    def tenants_with_due(self, now: int, stale: int, limit: int) -> list[Row]:
        """Up to ``limit`` tenants with due messages and no work record outstanding (or only a
        stale one), least recently sent a record first: a bounded tick that comes round to
        every tenant. One statement; each tenant costs one index probe, not a scan of the
        pending messages of all."""
        with self.db.statement() as conn:
            return conn.execute(
                f"""
                SELECT t.id, t.queue_url FROM tenants t
                WHERE t.active AND NOT ('{WHOLE_TENANT}' = ANY (t.suspended_batches))
                  AND (NOT t.work_outstanding OR t.work_sent_ts IS NULL OR t.work_sent_ts < %(now)s - %(stale)s)
                  AND {_ACCOUNT_DUE})
                ORDER BY t.work_sent_ts NULLS FIRST, t.id
                LIMIT %(limit)s
                """,
                {"now": now, "stale": stale, "limit": limit},
            ).fetchall()

    def mark_work(self, tenant_ids: Sequence[str], now: int, stale: int | None) -> list[str]:
        """Mark a work record outstanding for each tenant that has none (or only one older than
        ``stale`` seconds; None: mark every one); returns the tenants to send a record for."""
        if not tenant_ids:
            return []
        with self.db.statement() as conn:
            rows = conn.execute(
                "UPDATE tenants SET work_outstanding = true, work_sent_ts = %(now)s"
                " WHERE id = ANY (%(ids)s) AND (%(force)s OR NOT work_outstanding"
                " OR work_sent_ts IS NULL OR work_sent_ts < %(now)s - %(stale)s) RETURNING id",
                {"ids": list(tenant_ids), "now": now, "force": stale is None, "stale": stale or 0},
            ).fetchall()
        return [r["id"] for r in rows]

    def unmark_work(self, tenant_ids: Sequence[str]) -> None:
        """The records were not sent after all: the next submit or tick sends them."""
        if tenant_ids:
            with self.db.statement() as conn:
                conn.execute("UPDATE tenants SET work_outstanding = false WHERE id = ANY (%s)", (list(tenant_ids),))

    def end_run(self, tenant_id: str, now: int) -> bool:
        """A run is over: clear the tenant's mark, then say whether messages are due. Two
        statements on purpose: a submit whose mark test saw the old mark committed its
        messages before this clear, so the second statement's snapshot sees them; a later
        submit sees no mark and sends its own record."""
        with self.db.statement() as conn:
            conn.execute("UPDATE tenants SET work_outstanding = false WHERE id = %s AND work_outstanding", (tenant_id,))
        return self.has_due(tenant_id, now)

    def hold_back(self, tenant_id: str, account_id: str, now: int, until: int, reason: str, reject: bool) -> int:
        """The account's window is spent: hold its due messages until ``until`` in one statement
        and hold the account, so nothing touches them again before then. Deferring: only the
        messages held for the first time (no deferred_ts) change, each with one deferred event;
        rejecting (limit_behavior reject): each ends in error ``rate_limit_exceeded`` as v1 says.
        Counters as one attempt each would have counted. Returns the messages changed."""
        if reject:
            change = (
                "status = 'error', error = %(error)s, last_error = %(error)s, error_ts = %(now)s, sent_ts = %(now)s"
            )
            event = "'error', %(now)s, %(error)s, NULL::jsonb"
            names = [metrics.ERRORS, metrics.RATE_LIMITED]
            first_time = ""
        else:
            change = "deferred_ts = %(until)s"
            event = "'deferred', %(until)s, %(reason)s, %(metadata)s::jsonb"
            names = [metrics.DEFERRED, metrics.RATE_LIMITED]
            first_time = "AND m.deferred_ts IS NULL"
        sql = f"""
            WITH held AS (
                UPDATE messages m SET {change}, updated_at = now()
                FROM tenants t
                WHERE t.id = m.tenant_id AND m.tenant_id = %(tenant)s AND m.account_id = %(account)s
                  AND {DUE} {first_time}
                RETURNING m.pk, m.tenant_id
            ), account AS (
                UPDATE accounts SET rate_held_until = %(hold)s WHERE tenant_id = %(tenant)s AND id = %(account)s
            ), e AS (
                {INSERT_EVENT}
                SELECT pk, tenant_id, {event} FROM held
            ), c AS (
                INSERT INTO metric_counters (tenant_id, account_id, name, value)
                SELECT %(tenant)s, %(account)s, n.name, (SELECT count(*) FROM held)
                FROM unnest(%(names)s::text[]) AS n(name)
                ON CONFLICT (tenant_id, account_id, name)
                DO UPDATE SET value = metric_counters.value + EXCLUDED.value
            )
            SELECT count(*) AS n FROM held
        """
        params = {
            "tenant": tenant_id,
            "account": account_id,
            "now": now,
            "until": until,
            "hold": None if reject else until,
            "reason": reason,
            "error": "rate_limit_exceeded",
            "metadata": jsonb(held_metadata(now)),
            "names": names,
        }
        with self.db.statement() as conn:
            row = conn.execute(sql, params).fetchone()
        return int(row["n"]) if row else 0

    def record_outcomes(self, owner: str, outcomes: Sequence[OutcomeRow]) -> set[str]:
        """Apply many attempts' outcomes in one statement: each row's changes, its event, and
        the counters summed per account. Returns the pks recorded: only the lease holder may
        record, and a message deleted meanwhile records nothing.

        An outcome: ``pk``, changes (columns of OUTCOME_COLUMNS; absent ones are kept),
        ``event`` (type, ts, description, metadata), ``metrics`` (counter names, each + 1) and
        ``latency_ms`` (add -> SMTP, added to the account's latency sum; absent unless sent).
        """
        rows = []
        for ord_, o in enumerate(outcomes):
            event = o["event"]
            rows.append(
                {
                    **o,
                    "ord": ord_,
                    "event_type": event["type"],
                    "event_ts": event["ts"],
                    "description": event.get("description"),
                    "metadata": event.get("metadata"),
                }
            )
        sets = ", ".join(f"{c} = COALESCE(o.{c}, messages.{c})" for c in OUTCOME_COLUMNS)
        sql = f"""
            WITH o AS (
                SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb) AS o(
                    ord integer, pk uuid, {", ".join(f"{c} {t}" for c, t in OUTCOME_COLUMNS.items())},
                    event_type text, event_ts bigint, description text, metadata jsonb, metrics text[],
                    latency_ms bigint)
            ), m AS (
                UPDATE messages SET {sets}, claim_owner = NULL, claim_expires = NULL, updated_at = now()
                FROM o WHERE messages.pk = o.pk AND messages.claim_owner = %(owner)s
                  -- The planner guesses 100 rows for the recordset; the pk list makes the
                  -- index the way in whatever the table's size.
                  AND messages.pk = ANY (%(pks)s::uuid[])
                RETURNING messages.pk, messages.tenant_id, messages.account_id
            ), e AS (
                {INSERT_EVENT}
                SELECT m.pk, m.tenant_id, o.event_type, o.event_ts, o.description, o.metadata
                FROM m JOIN o ON o.pk = m.pk ORDER BY o.ord
            ), c AS (
                INSERT INTO metric_counters (tenant_id, account_id, name, value)
                SELECT tenant_id, account_id, name, sum(v) FROM (
                    SELECT m.tenant_id, m.account_id, n.name, 1 AS v
                    FROM m JOIN o ON o.pk = m.pk CROSS JOIN LATERAL unnest(o.metrics) AS n(name)
                    UNION ALL
                    SELECT m.tenant_id, m.account_id, %(latency_sum)s, o.latency_ms
                    FROM m JOIN o ON o.pk = m.pk WHERE o.latency_ms IS NOT NULL
                ) AS counted
                GROUP BY tenant_id, account_id, name
                ON CONFLICT (tenant_id, account_id, name)
                DO UPDATE SET value = metric_counters.value + EXCLUDED.value
            )
            SELECT pk::text AS pk FROM m
        """
        with self.db.statement() as conn:
            params = {
                "rows": jsonb(rows),
                "owner": owner,
                "pks": [r["pk"] for r in rows],
                "latency_sum": metrics.LATENCY_SUM_MS,
            }
            return {r["pk"] for r in conn.execute(sql, params).fetchall()}

    def release_claim(self, pk: Any, owner: str, deferred_ts: int | None) -> None:
        """Give a leased message back untouched (for example on shutdown)."""
        with self.db.statement() as conn:
            conn.execute(
                "UPDATE messages SET claim_owner = NULL, claim_expires = NULL,"
                " deferred_ts = COALESCE(deferred_ts, %s) WHERE pk = %s AND claim_owner = %s",
                (deferred_ts, pk, owner),
            )
