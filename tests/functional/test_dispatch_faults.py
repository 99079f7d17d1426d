"""Dispatch under bad data and database faults, over real PostgreSQL and SMTP.

A stored message that cannot be built (for example one stored by an older version) ends
``error`` once, with a clear reason, without an SMTP connection and without costing a rate
slot; a message the SMTP server accepted is never made due again by the process that sent
it, even when its outcome cannot be recorded until the database is back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.services.outcomes import RunSummary
from chalicelib.services.ports import Ports
from devstack.postgres import PostgresCluster
from tests.support.polling import eventually
from tests.support.runs import dispatch_tenant
from tests.support.smtp import Behaviour, SmtpSink
from tests.support.world import World

pytestmark = pytest.mark.functional


def corrupt(world: World, msg_id: str, field: str, value: Any) -> None:
    """As if stored by a version that checked less: bypasses submission on purpose."""
    import json

    with world.ports.database.transaction() as conn:
        conn.execute(
            "UPDATE messages SET payload = jsonb_set(payload, %s, %s::jsonb) WHERE tenant_id = %s AND id = %s",
            ([field], json.dumps(value), world.tenant_id, msg_id),
        )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subject", "broken\u2028subject"),
        ("bcc", ["x@example.com\u0085y"]),
        ("reply_to", "<"),
        ("message_id", "\u00e9t\u00e9"),
    ],
)
def test_a_message_that_cannot_be_built_ends_in_error_once_and_costs_no_rate_slot(
    make_world: Callable[..., World], ports: Ports, sink: SmtpSink, field: str, value: Any
) -> None:
    world = make_world(ports, account={"limit_per_hour": 1})
    poison, good = world.message(priority=0), world.message(priority=3)
    world.submit(poison, good)
    corrupt(world, poison["id"], field, value)
    summary = dispatch_tenant(world.ports, world.tenant_id)
    assert summary.errors == 1 and summary.sent == 1, summary
    row = world.row(poison["id"])
    assert row["status"] == "error" and row["error"].startswith("message cannot be built"), row
    assert sink.ids() == [good["id"]], "the poison never reached SMTP; the good one took the only slot"
    assert [e["event_type"] for e in world.events(poison["id"])] == ["error"]
    assert dispatch_tenant(world.ports, world.tenant_id).claimed == 0, "nothing left due: no retry loop"


def test_an_accepted_message_is_recorded_after_a_database_restart_and_never_sent_again(
    make_world: Callable[..., World], make_ports: Callable[..., Ports], sink: SmtpSink, pg: PostgresCluster
) -> None:
    world = make_world(make_ports(MAILPROXY_SMTP_TIMEOUT="10"))
    message = world.message()
    world.submit(message)
    sink.behaviour = Behaviour(hang_seconds=2)  # the database goes away while DATA is answered
    result: dict[str, RunSummary] = {}
    run = threading.Thread(target=lambda: result.setdefault("run", dispatch_tenant(world.ports, world.tenant_id)))
    run.start()
    eventually(lambda: sink.data_started >= 1, what="the message in DATA")
    pg.stop()
    try:
        eventually(lambda: sink.ids() == [message["id"]], timeout=10, what="the SMTP server's 250")
    finally:
        pg.start()
    run.join(timeout=60)
    assert not run.is_alive()
    assert result["run"].sent == 1
    assert world.row(message["id"])["status"] == "sent"
    sink.behaviour = Behaviour()
    dispatch_tenant(world.ports, world.tenant_id)
    assert sink.ids() == [message["id"]], "sent once"
