"""A claim, and a suspension's settle, read their batch and never the backlog, whatever the
planner's statistics say, over PostgreSQL.

The case that broke it (make bench-scale, 2026-12-07): statistics taken while a young table
held only finished messages ("nothing is pending"), then a backlog of thousands arrived before
autovacuum analyzed again. The planner took a partial index on pending messages for "one
message by its key", and every claim walked the whole backlog once per candidate: claims of
hundreds of milliseconds to 21 s, PostgreSQL on both cores, the other tenants' messages
waiting seconds. The test reads each statement's plan as executed (EXPLAIN ANALYZE) and
counts the message rows it read.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chalicelib.adapters.database import Database
from chalicelib.adapters.repositories.dispatch import CLAIM_SQL, HAS_DUE_SQL, claim_params
from chalicelib.adapters.repositories.holds import SETTLE_SQL
from chalicelib.services import accounts, submit, tenants
from chalicelib.services.ports import Ports
from devstack.postgres import PostgresCluster
from tests.support.factories import account_payload, message_payload, tenant_payload
from tests.support.world import ADMIN

BACKLOG = 3000
BATCH = 50


def _messages_read(plan: dict[str, Any]) -> int:
    """Rows of ``messages`` the executed plan read: returned or filtered out, every loop."""
    read = 0
    if plan.get("Relation Name") == "messages" and "Scan" in plan["Node Type"]:
        removed = plan.get("Rows Removed by Filter", 0) + plan.get("Rows Removed by Index Recheck", 0)
        read += (plan["Actual Rows"] + removed) * plan["Actual Loops"]
    return read + sum(_messages_read(child) for child in plan.get("Plans", []))


def _explain(ports: Ports, sql: str, params: dict[str, Any]) -> int:
    with ports.database.transaction() as conn:  # type: ignore[attr-defined]
        [row] = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params).fetchall()
        conn.rollback()  # EXPLAIN ANALYZE ran it: nothing it wrote stays
    plan = row["QUERY PLAN"]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return _messages_read(plan[0]["Plan"])


class Young:
    """A database analyzed while it held only finished messages, then given a backlog."""

    def __init__(self, ports: Ports, quiet: tuple[str, str], busy: tuple[str, str]) -> None:
        self.ports, self.quiet, self.busy = ports, quiet, busy


@pytest.fixture
def young(pg: PostgresCluster, make_ports: Callable[..., Ports]) -> Iterator[Young]:
    url = pg.create_database(f"plans_{uuid.uuid4().hex[:8]}")
    Database(url).migrate()
    ports = make_ports(DATABASE_URL=url)
    made = []
    for _ in range(2):
        tenant = tenant_payload()
        tenants.create_or_replace(ports, ADMIN, tenant)
        account = account_payload(tenant["id"], 2525)
        accounts.upsert(ports, ADMIN, account)
        made.append((tenant["id"], account["id"]))
    quiet, busy = made
    with ports.database.statement() as conn:  # type: ignore[attr-defined]
        conn.execute("ALTER TABLE messages SET (autovacuum_enabled = false)")  # the statistics stay stale
    submit.add_messages(ports, ADMIN, {"messages": [message_payload(*quiet) for _ in range(5)]})
    with ports.database.statement() as conn:  # type: ignore[attr-defined]
        conn.execute("UPDATE messages SET status = 'sent', sent_ts = 1")
        conn.execute("ANALYZE messages")
    for _ in range(0, BACKLOG, 1000):
        backlog = [message_payload(*busy, batch_code="news") for _ in range(1000)]
        submit.add_messages(ports, ADMIN, {"messages": backlog})
    submit.add_messages(ports, ADMIN, {"messages": [message_payload(*quiet)]})
    yield Young(ports, quiet, busy)


def test_a_claim_reads_its_batch_not_the_backlog_with_stale_statistics(young: Young) -> None:
    quiet = _explain(young.ports, CLAIM_SQL, claim_params(*young.quiet, "run-q", 0, 60, BATCH))
    busy = _explain(young.ports, CLAIM_SQL, claim_params(*young.busy, "run-b", 0, 60, BATCH))
    # The candidates (up to a batch from each half), each looked up once, then the update.
    assert quiet <= 10, f"a claim of one message read {quiet} message rows"
    assert busy <= 4 * BATCH + 10, f"a claim of {BATCH} behind {BACKLOG} read {busy} message rows"


def test_a_settle_reads_its_step_not_the_backlog_with_stale_statistics(young: Young) -> None:
    tenant_id, _ = young.busy
    with young.ports.database.statement() as conn:  # type: ignore[attr-defined]
        conn.execute("UPDATE tenants SET suspended_batches = '{news}' WHERE id = %s", (tenant_id,))
    read = _explain(young.ports, SETTLE_SQL, {"tenant": tenant_id, "batch": "news", "limit": BATCH})
    assert read <= 4 * BATCH + 10, f"setting {BATCH} aside behind {BACKLOG} read {read} message rows"


def test_a_look_for_due_messages_probes_the_backlog_not_reads_it(young: Young) -> None:
    for tenant_id, _ in (young.quiet, young.busy):  # end_run's look (the retry tick's is the same probe)
        read = _explain(young.ports, HAS_DUE_SQL, {"tenant": tenant_id, "now": 0})
        assert read <= 10, f"the look for {tenant_id}'s due messages read {read} message rows"
