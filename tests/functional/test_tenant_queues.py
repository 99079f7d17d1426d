"""Tenant queues on an AWS endpoint (moto server over HTTP): provisioning is all or nothing,
and the system queue the template owns is used, never re-created with other attributes."""

from __future__ import annotations

import dataclasses
import json
import uuid

import boto3
import pytest

from chalicelib import limits
from chalicelib.adapters.queues import EventSourceMappings, TenantQueues, queue_name, system_queue_name
from chalicelib.domain.work_records import Reason, SystemKind, SystemWork
from chalicelib.errors import QueueError
from chalicelib.services import enqueue, tenants
from chalicelib.services.ports import Ports
from devstack.aws import MotoServer
from tests.support.factories import tenant_payload
from tests.support.pool import drain_pool
from tests.support.runs import dispatch_tenant
from tests.support.world import ADMIN, Clock, World

pytestmark = pytest.mark.functional


def clients(moto_server: MotoServer) -> tuple:
    return tuple(
        boto3.client(s, endpoint_url=moto_server.url, region_name="us-east-1") for s in ("sqs", "lambda", "cloudwatch")
    )


def test_a_tenant_whose_mapping_cannot_be_made_leaves_no_queue_behind(moto_server: MotoServer) -> None:
    sqs, lam, cloudwatch = clients(moto_server)
    prefix = f"rb{uuid.uuid4().hex[:8]}"
    missing = "arn:aws:lambda:us-east-1:123456789012:function:no-such-dispatcher"
    queues = TenantQueues(
        sqs, prefix, limits.QUEUE_VISIBILITY_TIMEOUT, mappings=EventSourceMappings(lam, missing, 2, cloudwatch)
    )
    with pytest.raises(QueueError):
        queues.create("acme")
    assert sqs.list_queues(QueueNamePrefix=prefix).get("QueueUrls", []) == []


def test_tenant_queues_get_the_templates_numbers(moto_server: MotoServer) -> None:
    sqs, _, _ = clients(moto_server)
    prefix = f"tq{uuid.uuid4().hex[:8]}"
    url, dlq = TenantQueues(sqs, prefix, limits.QUEUE_VISIBILITY_TIMEOUT).create("acme")
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert int(attributes["VisibilityTimeout"]) == limits.QUEUE_VISIBILITY_TIMEOUT
    assert json.loads(attributes["RedrivePolicy"])["maxReceiveCount"] == limits.MAX_RECEIVE_COUNT
    assert url.endswith(queue_name(prefix, "acme")) and dlq.endswith("-dlq")


def test_the_system_queue_made_by_the_template_is_used_as_it_is(moto_server: MotoServer) -> None:
    sqs, _, _ = clients(moto_server)
    prefix = f"sq{uuid.uuid4().hex[:8]}"
    # As the template declares it (infra/template.py), with its dead-letter queue.
    dlq = sqs.create_queue(QueueName=f"{system_queue_name(prefix)}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    owned = sqs.create_queue(
        QueueName=system_queue_name(prefix),
        Attributes={
            "VisibilityTimeout": str(limits.QUEUE_VISIBILITY_TIMEOUT),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": limits.MAX_RECEIVE_COUNT}),
        },
    )["QueueUrl"]
    handed = TenantQueues(sqs, prefix, limits.QUEUE_VISIBILITY_TIMEOUT, system_queue_url=owned)
    handed.notify_system(SystemWork(SystemKind.BOUNCE_POLL))
    looked_up = TenantQueues(sqs, prefix, limits.QUEUE_VISIBILITY_TIMEOUT)
    assert looked_up.system_url() == owned
    looked_up.notify_system(SystemWork(SystemKind.BOUNCE_POLL))
    received = sqs.receive_message(QueueUrl=owned, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"]) for m in received] == [{"kind": "bounce-poll"}] * 2


def test_a_tenant_whose_queue_has_gone_gets_it_back_from_the_api_and_the_retry_tick(world: World) -> None:
    from chalicelib.services.scheduler import retry_tick

    tenants.update(world.ports, ADMIN, world.tenant_id, {"isolation": "dedicated"})
    sqs = world.ports.queues._sqs

    def queue_now() -> str:
        row = world.ports.tenants.get(world.tenant_id)
        assert row is not None
        return str(row["queue_url"])

    def records(url: str) -> list[dict]:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        return [json.loads(m["Body"]) for m in got]

    dispatch_tenant(world.ports, world.tenant_id)  # the run the move asked for: no record outstanding
    sqs.delete_queue(QueueUrl=queue_now())  # as after an AWS endpoint restarted empty
    world.submit(world.message())  # the API heals it and sends the work record
    assert [r["reason"] for r in records(queue_now())] == ["submit"]

    sqs.delete_queue(QueueUrl=queue_now())  # the record went with it, presumed lost later:
    later = dataclasses.replace(world.ports, clock=Clock(world.ports.now() + limits.WORK_RECORD_STALE + 1))
    retry_tick(later)  # the message is due: the tick heals too
    assert [r["reason"] for r in records(queue_now())] == ["tick"]


def test_a_report_for_a_dedicated_tenant_whose_queue_has_gone_goes_to_the_pool(world: World) -> None:
    tenants.update(world.ports, ADMIN, world.tenant_id, {"isolation": "dedicated"})
    row = world.ports.tenants.get(world.tenant_id)
    assert row is not None
    world.ports.queues._sqs.delete_queue(QueueUrl=row["queue_url"])  # type: ignore[attr-defined]
    drain_pool(world.ports)
    enqueue.enqueue(world.ports, [world.tenant_id], Reason.REPORT)  # as the reports tick does
    assert [r["reason"] for r in _pool_records(world.ports, world.tenant_id)] == ["report"]


def _pool_records(ports: Ports, tenant_id: str) -> list[dict]:
    return [r for r in drain_pool(ports) if r["tenant_id"] == tenant_id]


def test_a_new_tenant_is_a_row_in_the_pool_with_no_queue_of_its_own(ports: Ports) -> None:
    sqs = ports.queues._sqs  # type: ignore[attr-defined]
    prefix = f"{ports.settings.queue_prefix}-t-"
    before = sqs.list_queues(QueueNamePrefix=prefix).get("QueueUrls", [])
    payload = tenant_payload()
    tenants.create_or_replace(ports, ADMIN, payload)
    try:
        assert sqs.list_queues(QueueNamePrefix=prefix).get("QueueUrls", []) == before
        assert tenants.get(ports, ADMIN, payload["id"])["isolation"] == "pool"
        drain_pool(ports)
        enqueue.enqueue(ports, [payload["id"]], Reason.SUBMIT)
        assert _pool_records(ports, payload["id"]) == [
            {"tenant_id": payload["id"], "reason": "submit", "group": payload["id"]}
        ]
    finally:
        tenants.delete(ports, ADMIN, payload["id"])


def test_a_tenant_moves_to_a_queue_of_its_own_and_back_and_only_the_admin_may_say_so(ports: Ports) -> None:
    from chalicelib.errors import ForbiddenError
    from chalicelib.services.auth import Principal

    payload = tenant_payload()
    tenants.create_or_replace(ports, ADMIN, payload)
    try:
        with pytest.raises(ForbiddenError):
            tenants.update(ports, Principal(payload["id"]), payload["id"], {"isolation": "dedicated"})
        tenants.update(ports, ADMIN, payload["id"], {"isolation": "dedicated"})
        row = ports.tenants.get(payload["id"])
        assert row is not None and row["queue_url"]
        assert tenants.get(ports, ADMIN, payload["id"])["isolation"] == "dedicated"
        sqs = ports.queues._sqs  # type: ignore[attr-defined]
        own = str(row["queue_url"])
        drain_pool(ports)
        tenants.update(ports, ADMIN, payload["id"], {"isolation": "pool"})
        assert ports.tenants.get(payload["id"])["queue_url"] is None  # type: ignore[index]
        with pytest.raises(Exception, match=r"NonExistentQueue|does not exist"):
            sqs.get_queue_attributes(QueueUrl=own, AttributeNames=["QueueArn"])
        assert [r["reason"] for r in _pool_records(ports, payload["id"])] == ["run-now"]  # its work, in the pool
    finally:
        tenants.delete(ports, ADMIN, payload["id"])


def test_ticks_send_the_pools_records_ten_to_a_call(ports: Ports) -> None:
    made = [tenant_payload() for _ in range(23)]
    for payload in made:
        tenants.create_or_replace(ports, ADMIN, payload)
    try:
        sqs = ports.queues._sqs  # type: ignore[attr-defined]
        calls: list[int] = []
        original = sqs.send_message_batch

        def counted(**kwargs: object) -> object:
            calls.append(len(kwargs["Entries"]))  # type: ignore[arg-type]
            return original(**kwargs)

        sqs.send_message_batch = counted
        try:
            enqueue.enqueue(ports, [p["id"] for p in made], Reason.TICK, queue_urls={p["id"]: None for p in made})
        finally:
            sqs.send_message_batch = original
        assert sorted(calls, reverse=True) == [10, 10, 3]
    finally:
        for payload in made:
            tenants.delete(ports, ADMIN, payload["id"])
