"""Lambda entry points with Lambda's own event shapes, and recovery from a database restart."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from chalicelib import wiring
from chalicelib.services.ports import Ports
from devstack.postgres import PostgresCluster
from devstack.runner import LambdaContext, schedule_event, sqs_event
from tests.support.runs import dispatch_tenant
from tests.support.smtp import SmtpSink
from tests.support.world import World


@pytest.fixture
def handler_ports(world: World) -> Iterator[Ports]:
    # The handlers build their ports once per execution environment; hand them ours.
    with wiring.ports_in_use(world.ports) as ports:
        yield ports


def record(body: str, message_id: str) -> dict:
    return {"MessageId": message_id, "ReceiptHandle": f"rh-{message_id}", "Body": body}


def test_dispatch_handler_reports_only_the_failed_records(world: World, handler_ports: Ports) -> None:
    from functions import dispatch

    msg = world.message()
    world.submit(msg)
    event = sqs_event(
        [
            record(json.dumps({"tenant_id": world.tenant_id}), "good"),
            record(json.dumps({"tenant_id": world.tenant_id}), "same-tenant"),
            record("not json", "bad"),
        ],
        "arn:aws:sqs:us-east-1:0:q",
        "us-east-1",
    )
    result = dispatch.handler(event, LambdaContext("mail-proxy-dispatch"))
    assert result == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    assert len(world.sink.by_id(msg["id"])) == 1, "two records for one tenant: one run, one send"


def test_a_pooled_batch_serves_each_of_its_tenants_once_and_a_gone_tenant_is_no_failure(
    make_world: Callable[..., World], ports: Ports, handler_ports: Ports
) -> None:
    from functions import dispatch

    worlds = [make_world(ports) for _ in range(6)]
    messages = [w.message() for w in worlds]
    for w, msg in zip(worlds, messages, strict=True):
        w.submit(msg)
    budgets: list[float] = []
    serve = dispatch._PerInvocation.serve

    async def watched(self: object, tenant_id: str, budget: float) -> None:
        budgets.append(budget)
        await serve(self, tenant_id, budget)  # type: ignore[arg-type]

    records = [
        record(json.dumps({"tenant_id": w.tenant_id, "reason": "submit"}), f"r{i}") for i, w in enumerate(worlds)
    ]
    records += [
        record(json.dumps({"tenant_id": worlds[0].tenant_id}), "again"),
        record(json.dumps({"tenant_id": "no-such-tenant-here"}), "gone"),
    ]
    dispatch._PerInvocation.serve = watched  # type: ignore[method-assign]
    try:
        result = dispatch.handler(
            sqs_event(records, "arn:aws:sqs:us-east-1:0:work", "us-east-1"),
            LambdaContext("mail-proxy-dispatch", timeout_s=120),
        )
    finally:
        dispatch._PerInvocation.serve = serve  # type: ignore[method-assign]
    assert result == {"batchItemFailures": []}, "an unknown tenant has nothing to do, which is no failure"
    for w, msg in zip(worlds, messages, strict=True):
        assert len(w.sink.by_id(msg["id"])) == 1
    assert len(budgets) == 7, "each tenant of the batch served once"
    # The tenants run side by side, each within its share of what is left (half of 120 s), so
    # that the batch as a whole leaves the invocation the other half.
    assert max(budgets) <= 120 * dispatch.BUDGET_SHARE + 0.5


def test_a_pooled_batch_serves_its_tenants_side_by_side(
    make_world: Callable[..., World], ports: Ports, handler_ports: Ports, sink: SmtpSink
) -> None:
    """One after another, the last tenant of a batch waited for every run before it."""
    from functions import dispatch

    worlds = [make_world(ports) for _ in range(3)]
    messages = [w.message() for w in worlds]
    for w, msg in zip(worlds, messages, strict=True):
        w.submit(msg)
    sink.behaviour.hang_seconds = 1.0  # each DATA answered after a second (the SMTP timeout is 2 s)
    records = [
        record(json.dumps({"tenant_id": w.tenant_id, "reason": "submit"}), f"r{i}") for i, w in enumerate(worlds)
    ]
    result = dispatch.handler(
        sqs_event(records, "arn:aws:sqs:us-east-1:0:work", "us-east-1"),
        LambdaContext("mail-proxy-dispatch", timeout_s=120),
    )
    assert result == {"batchItemFailures": []}
    assert all(len(w.sink.by_id(m["id"])) == 1 for w, m in zip(worlds, messages, strict=True))
    assert sink.max_in_data == 3, "the three tenants' messages were in DATA at the same time"


def test_scheduler_handler_enqueues_tenants_with_due_messages(world: World, handler_ports: Ports) -> None:
    from functions import scheduler

    world.submit(world.message())
    world.ports.dispatch.unmark_work([world.tenant_id])  # its submit's record was lost
    result = scheduler.retry_handler(schedule_event("mail-proxy-retry"), LambdaContext("mail-proxy-retry"))
    assert result["enqueued"] >= 1


def test_dispatch_survives_a_database_restart(world: World, pg: PostgresCluster) -> None:
    first = world.message()
    world.submit(first)
    dispatch_tenant(world.ports, world.tenant_id)
    pg.restart()
    second = world.message()
    world.submit(second)
    assert dispatch_tenant(world.ports, world.tenant_id).sent == 1
    assert len(world.sink.by_id(second["id"])) == 1 and len(world.sink.by_id(first["id"])) == 1


@pytest.mark.parametrize("module", ["app", "functions.dispatch", "functions.scheduler"])
def test_invalid_configuration_stops_start_up_with_a_clear_message(module: str) -> None:
    import subprocess
    import sys

    from devstack.procs import ROOT

    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "MAILPROXY_API_TOKEN": "t", "MAILPROXY_RETRY_DELAYS": "60,soon"},
    )
    assert result.returncode != 0
    assert "MAILPROXY_RETRY_DELAYS must be comma-separated integers" in result.stderr
