"""make bench-scale, the database half: does any background or request path grow with the table?

A throwaway PostgreSQL cluster holds 10,000 tenants with 2 accounts each (a report endpoint
each, so every one is due a report) and is filled, in steps, to 1 M, 3 M and 10 M messages (one
day at 10 M a day): 80 % of them in ten large tenants, the rest spread over all; 90 % finished
with one acknowledged event each and past retention, 10 % unfinished and due (so every tenant
has due messages). Rows are written with INSERT ... SELECT (the API would take days). At each
size, through the services and repositories the functions call, against a moto server for
the work queue:
- retention: ms per 1,000 messages removed (three batches), and at the largest size one whole
  run on its real budget: rows removed and duration;
- the retry tick with 10,000 due tenants, and the reports tick with 10,000 tenants: duration and
  work records sent (marks cleared between sizes, so each tick has the same work);
- a claim of 50 messages of the largest tenant's account; a page of 100 of its messages;
- an account whose backlog is deferred into the future (retries after an outage: a tenth of
  the table's size, older than its 60 due messages): a claim of 50, and the "anything due?"
  probe every run's end and every tick makes;
- the same behind a suspended batch of a tenth of the table's size, and (at the first size)
  how fast a suspension sets the batch aside (messages per second, request and ticks);
- /metrics: how many shards the answer needs, the largest shard's size and time.
The slope between 1 M and 10 M says whether a figure grows with the table.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from chalicelib import limits
from chalicelib.adapters.database import Database
from chalicelib.config import load_settings
from chalicelib.domain import finding
from chalicelib.errors import BusinessRuleError
from chalicelib.services import control, holds, messages, retention
from chalicelib.services.auth import Principal
from chalicelib.services.observability import metrics_text
from chalicelib.services.ports import Ports
from chalicelib.services.scheduler import reports_tick, retry_tick
from chalicelib.wiring import build_ports

TENANTS = 10_000
BIG = 10  # tenants s00000..s00009 hold 80 % of the messages
NOW = int(time.time())
DAY = 86400

SEED_TENANTS = (
    f"INSERT INTO tenants (id, name, signing_secret_enc, client_base_url, retention_days)"
    f" SELECT 's' || lpad(i::text, 5, '0'), 'Tenant ' || i, 'x', 'http://127.0.0.1:9/', 7"
    f" FROM generate_series(0, {TENANTS - 1}) AS i",
    "INSERT INTO accounts (tenant_id, id, host, port)"
    " SELECT t.id, a.id, '127.0.0.1', 9 FROM tenants t CROSS JOIN (VALUES ('a'), ('b')) AS a(id)",
    # Every tenant has a due message from the start, so every tick has the same 10,000 due.
    "INSERT INTO messages (pk, tenant_id, id, account_id, payload, created_at)"
    " SELECT gen_random_uuid(), t.id, 'due-' || t.id, 'b', '{}'::jsonb, now() - interval '1 day' FROM tenants t",
    # The outage tenant: 60 due messages behind a deferred backlog that grows with the table.
    "INSERT INTO tenants (id, name, signing_secret_enc) VALUES ('outage', 'Outage', 'x')",
    "INSERT INTO accounts (tenant_id, id, host, port) VALUES ('outage', 'a', '127.0.0.1', 9)",
    "INSERT INTO messages (pk, tenant_id, id, account_id, payload)"
    " SELECT gen_random_uuid(), 'outage', 'due-' || i, 'a', '{}'::jsonb FROM generate_series(1, 60) AS i",
    # The paused tenant: 60 due messages behind a suspended batch that grows with the table.
    "INSERT INTO tenants (id, name, signing_secret_enc) VALUES ('paused', 'Paused', 'x')",
    "INSERT INTO accounts (tenant_id, id, host, port) VALUES ('paused', 'a', '127.0.0.1', 9)",
    "INSERT INTO messages (pk, tenant_id, id, account_id, payload)"
    " SELECT gen_random_uuid(), 'paused', 'due-' || i, 'a', '{}'::jsonb FROM generate_series(1, 60) AS i",
    "INSERT INTO metric_counters (tenant_id, account_id, name, value)"
    " SELECT a.tenant_id, a.id, n.name, (random() * 1000)::bigint FROM accounts a"
    " CROSS JOIN unnest(%(names)s::text[]) AS n(name)",
)

# Messages number ``start`` to ``stop - 1``: where each goes (80 % to the large tenants, the rest
# spread over all), whether it is finished (90 %), and its one event if so, in one statement.
SEED_MESSAGES = """
WITH r AS (
    SELECT i, random() AS spread, random() AS pick, random() AS done FROM generate_series(%(start)s, %(stop)s - 1) AS i
), m AS (
    INSERT INTO messages (pk, tenant_id, id, account_id, priority, payload, status, sent_ts, acked_ts,
                          created_at, updated_at, recipients)
    SELECT gen_random_uuid(),
           's' || lpad((CASE WHEN spread < 0.8 THEN floor(pick * %(big)s)
                             ELSE floor(pick * %(tenants)s) END)::int::text, 5, '0'),
           'm' || i, CASE WHEN (i / 7) %% 2 = 0 THEN 'a' ELSE 'b' END, 2,
           jsonb_build_object('from', 'shop@example.com', 'to', 'user' || (i %% 50000) || '@example.com',
                              'subject', 'Order ' || i),
           CASE WHEN done < 0.1 THEN 'pending' ELSE 'sent' END,
           CASE WHEN done < 0.1 THEN NULL ELSE %(old)s END,
           CASE WHEN done < 0.1 THEN NULL ELSE %(old)s END,
           to_timestamp(%(old)s + i %% 3600), to_timestamp(%(old)s + i %% 3600),
           ARRAY['user' || (i %% 50000) || '@example.com']
    FROM r
    RETURNING pk, tenant_id, status, sent_ts
)
INSERT INTO events (message_pk, tenant_id, event_type, event_ts, reported_ts)
SELECT pk, tenant_id, 'sent', sent_ts, sent_ts FROM m WHERE status = 'sent'
"""


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _timed(
    out: dict[str, Any], name: str, call: Callable[[], Any], repeat: int = 9, after: Callable[[Any], None] | None = None
) -> None:
    """``name``: the median of ``repeat`` calls, and ``name`` with _best: the fastest, which the
    slope between sizes is judged on (the host's speed drifts by a third within minutes; the
    fastest call is what the statement itself costs)."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
        if after is not None:  # untimed: what puts things back for the next call
            after(result)
    out[name] = _ms(statistics.median(times))
    out[name.replace("_ms", "_best_ms")] = _ms(min(times))


class ScaleDatabase:
    def __init__(self, database_url: str, aws_url: str) -> None:
        for name, value in (
            ("AWS_ACCESS_KEY_ID", "bench"),
            ("AWS_SECRET_ACCESS_KEY", "bench"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
        ):
            os.environ.setdefault(name, value)
        self.db = Database(database_url)
        self.db.migrate()
        self.ports: Ports = build_ports(
            load_settings(
                {
                    "DATABASE_URL": database_url,
                    "AWS_ENDPOINT_URL": aws_url,
                    "MAILPROXY_API_TOKEN": "bench",
                    "MAILPROXY_QUEUE_PREFIX": "benchscale",
                    "MAILPROXY_ENCRYPTION_KEY": "bench-scale-key",
                }
            )
        )
        self.size = 0

    def seed_tenants(self) -> float:
        from chalicelib.domain import metrics

        started = time.perf_counter()
        with self.db.transaction() as conn:
            for statement in SEED_TENANTS:
                conn.execute(statement, {"names": [*metrics.NAMES, *metrics.LATENCY_NAMES]})
        return time.perf_counter() - started

    def grow(self, to: int, step: int = 500_000) -> float:
        """Add messages until the table holds ``to`` (in statements of ``step``); seconds."""
        started = time.perf_counter()
        while self.size < to:
            stop = min(to, self.size + step)
            with self.db.transaction() as conn:
                conn.execute("SET LOCAL synchronous_commit = off")
                conn.execute(
                    SEED_MESSAGES,
                    {"start": self.size, "stop": stop, "big": BIG, "tenants": TENANTS, "old": NOW - 10 * DAY},
                )
            self.size = stop
        with self.db.statement() as conn:
            conn.execute("VACUUM ANALYZE messages")
            conn.execute("VACUUM ANALYZE events")
        return time.perf_counter() - started

    def _fresh_marks(self) -> None:
        with self.db.statement() as conn:
            conn.execute(
                "UPDATE tenants SET work_outstanding = false, work_sent_ts = NULL,"
                " last_sync_ts = NULL, report_next_attempt_ts = NULL"
            )

    def measure(self, whole_retention_run: bool) -> dict[str, Any]:
        ports = self.ports
        out: dict[str, Any] = {"messages": self.size}
        # Retention: three batches, then (largest size) a whole run on its real budget.
        started = time.perf_counter()
        removed = sum(retention.apply(ports, budget_seconds=0) for _ in range(3))
        out["retention_ms_per_1000"] = round(_ms(time.perf_counter() - started) / max(1, removed) * 1000, 1)
        if whole_retention_run:
            started = time.perf_counter()
            out["retention_run_rows"] = retention.apply(ports)
            out["retention_run_s"] = round(time.perf_counter() - started, 1)
        self._fresh_marks()
        started = time.perf_counter()
        out["retry_tick_records"] = len(retry_tick(ports)["enqueued"])
        out["retry_tick_s"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        out["reports_tick_records"] = len(reports_tick(ports)["enqueued"])
        out["reports_tick_s"] = round(time.perf_counter() - started, 2)
        self._fresh_marks()

        def claim() -> list[Any]:
            got = ports.dispatch.claim("s00000", "a", "bench-claim", ports.now(), 300, 50)
            assert got, "the largest tenant has due messages"
            return got

        _timed(out, "claim_50_ms", claim, after=self._give_back)
        admin = Principal(None)
        _timed(
            out,
            "page_100_ms",
            lambda: messages.list_messages(ports, admin, "s00000", False, False, finding.read({"limit": "100"})),
        )
        first_suspension = self._grow_suspended_batch()
        out.update(self._deferred_backlog())  # its VACUUM covers both
        out.update(self._suspended_batch(first_suspension))
        out["metrics"] = self._metrics()
        return out

    def _deferred_backlog(self) -> dict[str, Any]:
        """The outage tenant's deferred backlog grown to a tenth of the table; its claim and probe."""
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT count(*) AS n FROM messages WHERE tenant_id = 'outage' AND deferred_ts IS NOT NULL"
            ).fetchone()
            have = int(row["n"]) if row else 0
            conn.execute("SET LOCAL synchronous_commit = off")
            conn.execute(
                "INSERT INTO messages (pk, tenant_id, id, account_id, payload, created_at, deferred_ts,"
                " retry_count) SELECT gen_random_uuid(), 'outage', 'retry-' || i, 'a', '{}'::jsonb,"
                " now() - interval '2 days', %s, 1 FROM generate_series(%s::int, %s::int) AS i",
                (NOW + DAY, have, self.size // 10 - 1),
            )
        with self.db.statement() as conn:
            conn.execute("VACUUM ANALYZE messages")

        def claim() -> list[Any]:
            got = self.ports.dispatch.claim("outage", "a", "bench-claim", self.ports.now(), 300, 50)
            assert len(got) == 50, "the 60 due messages are found behind the deferred backlog"
            return got

        out: dict[str, Any] = {"deferred_backlog": max(have, self.size // 10)}
        _timed(out, "deferred_claim_50_ms", claim, after=self._give_back)
        _timed(out, "deferred_probe_ms", lambda: self.ports.dispatch.has_due("outage", self.ports.now()))
        return out

    def _grow_suspended_batch(self) -> bool:
        """The paused tenant's batch grown to a tenth of the table, older than its due messages
        (written set aside, as a submit into a suspended batch is, once it is suspended).
        True: the batch is new, not yet suspended."""
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT count(*) AS n FROM messages WHERE tenant_id = 'paused' AND batch_code = 'c'"
            ).fetchone()
            have = int(row["n"]) if row else 0
            conn.execute("SET LOCAL synchronous_commit = off")
            conn.execute(
                "INSERT INTO messages (pk, tenant_id, id, account_id, payload, created_at, batch_code, held)"
                " SELECT gen_random_uuid(), 'paused', 'c-' || i, 'a', '{}'::jsonb, now() - interval '2 days',"
                " 'c', %s FROM generate_series(%s::int, %s::int) AS i",
                (have > 0, have, self.size // 10 - 1),
            )
        return have == 0

    def _suspended_batch(self, first: bool) -> dict[str, Any]:
        """Suspending the new batch (the request, then ticks until it is all set aside), and the
        paused tenant's claim and probe behind it."""
        out: dict[str, Any] = {"suspended_batch": self.size // 10}
        if first:
            started = time.perf_counter()
            control.suspend(self.ports, Principal(None), "paused", "c")
            while any(c["tenant_id"] == "paused" for c in self.ports.holds.outstanding(1000)):
                holds.settle_outstanding(self.ports)
            out["set_aside_per_s"] = round(self.size // 10 / (time.perf_counter() - started))
            with self.db.statement() as conn:
                conn.execute("VACUUM ANALYZE messages")

        def claim() -> list[Any]:
            got = self.ports.dispatch.claim("paused", "a", "bench-claim", self.ports.now(), 300, 50)
            assert len(got) == 50, "the 60 due messages are found behind the suspended batch"
            return got

        _timed(out, "suspended_claim_50_ms", claim, after=self._give_back)
        _timed(out, "suspended_probe_ms", lambda: self.ports.dispatch.has_due("paused", self.ports.now()))
        return out

    def _give_back(self, claimed: list[Any]) -> None:
        """A measured claim's messages, due again, by primary key."""
        with self.db.statement() as conn:
            conn.execute(
                "UPDATE messages SET claim_owner = NULL, claim_expires = NULL WHERE pk = ANY (%s)",
                ([m["pk"] for m in claimed],),
            )

    def _metrics(self) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            metrics_text(self.ports)
            shards = 1
        except BusinessRuleError as exc:  # the answer names the shards that fit
            shards = int(str(exc).split("shards=")[1].split("&")[0])
        refused_ms = _ms(time.perf_counter() - started)
        sizes, times = [], []
        for shard in range(shards):
            started = time.perf_counter()
            sizes.append(len(metrics_text(self.ports, shard, shards).encode()))
            times.append(time.perf_counter() - started)
        return {
            "shards": shards,
            "largest_bytes": max(sizes),
            "total_bytes": sum(sizes),
            "largest_shard_s": round(max(times), 2),
            "weighing_ms": refused_ms,
            "limit_bytes": limits.METRICS_ANSWER_BYTES,
        }

    def close(self) -> None:
        self.db.close()
