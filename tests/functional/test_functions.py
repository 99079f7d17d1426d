"""Lambda entry points with Lambda's own event shapes, and recovery from a database restart."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from chalicelib import wiring
from chalicelib.services.dispatch import dispatch_tenant
from chalicelib.services.ports import Ports
from devstack.postgres import PostgresCluster
from devstack.runner import LambdaContext, schedule_event, sqs_event
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
    event = sqs_event([record(json.dumps({"tenant_id": world.tenant_id}), "good"),
                       record(json.dumps({"tenant_id": world.tenant_id}), "same-tenant"),
                       record("not json", "bad")], "arn:aws:sqs:us-east-1:0:q", "us-east-1")
    result = dispatch.handler(event, LambdaContext("mail-proxy-dispatch"))
    assert result == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    assert len(world.sink.by_id(msg["id"])) == 1, "two records for one tenant: one run, one send"


def test_scheduler_handler_enqueues_tenants_with_due_messages(world: World, handler_ports: Ports) -> None:
    from functions import scheduler

    world.submit(world.message())
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

    result = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT, capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "MAILPROXY_API_TOKEN": "t",
                                 "MAILPROXY_RETRY_DELAYS": "60,soon"})
    assert result.returncode != 0
    assert "MAILPROXY_RETRY_DELAYS must be comma-separated integers" in result.stderr
