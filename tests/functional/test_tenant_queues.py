"""Tenant queues on an AWS endpoint (moto server over HTTP): provisioning is all or nothing,
and the system queue the template owns is used, never re-created with other attributes."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest

from chalicelib import limits
from chalicelib.adapters.queues import EventSourceMappings, TenantQueues, queue_name, system_queue_name
from chalicelib.errors import QueueError
from devstack.aws import MotoServer
from tests.support.world import World

pytestmark = pytest.mark.functional


def clients(moto_server: MotoServer) -> tuple:
    return tuple(boto3.client(s, endpoint_url=moto_server.url, region_name="us-east-1")
                 for s in ("sqs", "lambda", "cloudwatch"))


def test_a_tenant_whose_mapping_cannot_be_made_leaves_no_queue_behind(moto_server: MotoServer) -> None:
    sqs, lam, cloudwatch = clients(moto_server)
    prefix = f"rb{uuid.uuid4().hex[:8]}"
    missing = "arn:aws:lambda:us-east-1:123456789012:function:no-such-dispatcher"
    queues = TenantQueues(sqs, prefix, limits.QUEUE_VISIBILITY_TIMEOUT,
                          mappings=EventSourceMappings(lam, missing, 2, cloudwatch))
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
    owned = sqs.create_queue(QueueName=system_queue_name(prefix), Attributes={
        "VisibilityTimeout": str(limits.QUEUE_VISIBILITY_TIMEOUT),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": limits.MAX_RECEIVE_COUNT})})[
        "QueueUrl"]
    handed = TenantQueues(sqs, prefix, limits.QUEUE_VISIBILITY_TIMEOUT, system_queue_url=owned)
    handed.notify_system("bounce-poll")
    looked_up = TenantQueues(sqs, prefix, limits.QUEUE_VISIBILITY_TIMEOUT)
    assert looked_up.system_url() == owned
    looked_up.notify_system("bounce-poll")
    received = sqs.receive_message(QueueUrl=owned, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"]) for m in received] == [{"kind": "bounce-poll"}] * 2


def test_a_tenant_whose_queue_has_gone_gets_it_back_from_the_api_and_the_retry_tick(world: World) -> None:
    from chalicelib.services.scheduler import retry_tick

    sqs = world.ports.queues._sqs

    def queue_now() -> str:
        row = world.ports.tenants.get(world.tenant_id)
        assert row is not None
        return str(row["queue_url"])

    def records(url: str) -> list[dict]:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        return [json.loads(m["Body"]) for m in got]

    sqs.delete_queue(QueueUrl=queue_now())          # as after an AWS endpoint restarted empty
    world.submit(world.message())                    # the API heals it and sends the work record
    assert [r["reason"] for r in records(queue_now())] == ["submit"]

    sqs.delete_queue(QueueUrl=queue_now())
    retry_tick(world.ports)                           # the message is due: the tick heals too
    assert [r["reason"] for r in records(queue_now())] == ["tick"]
