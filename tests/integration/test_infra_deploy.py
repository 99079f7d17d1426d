"""infra/ deploys to an AWS-compatible endpoint (moto server over HTTP), and a tenant's
queue gets its own event source mapping onto the deployed dispatch function."""

from __future__ import annotations

import uuid

import boto3
import pytest

from chalicelib.adapters.queues import EventSourceMappings, TenantQueues
from devstack.aws import MotoServer
from infra.deploy import deploy


@pytest.fixture
def deployed(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.url)
    prefix = f"infra{uuid.uuid4().hex[:8]}"
    outputs = deploy(f"mp-{prefix}", "postgresql://mailproxy@db.internal:5432/mailproxy",
                     with_deps=False, queue_prefix=prefix)
    outputs["QueuePrefix"] = prefix
    return outputs


def client(moto_server: MotoServer, service: str):
    return boto3.client(service, endpoint_url=moto_server.url, region_name="us-east-1")


def test_stack_deploys_with_every_function_and_schedule(deployed: dict[str, str], moto_server: MotoServer) -> None:
    assert deployed["ApiUrl"].startswith("https://")
    lam = client(moto_server, "lambda")
    dispatch = lam.get_function(FunctionName=deployed["DispatchFunctionArn"])["Configuration"]
    assert dispatch["Handler"] == "functions.dispatch.handler" and dispatch["Runtime"] == "python3.11"
    env = dispatch["Environment"]["Variables"]
    assert env["MAILPROXY_QUEUE_PREFIX"] == deployed["QueuePrefix"]
    assert env["MAILPROXY_DISPATCH_FUNCTION_ARN"] == deployed["DispatchFunctionArn"]
    # moto does not create AWS::SecretsManager::Secret from templates (nor the environment
    # values referring to them) and ignores bucket lifecycle rules; cfn-lint and the template
    # tests cover those.
    client(moto_server, "s3").head_bucket(Bucket=deployed["LargeFilesBucketName"])
    system_queue = client(moto_server, "sqs").get_queue_url(QueueName=f"{deployed['QueuePrefix']}-system")
    assert system_queue["QueueUrl"]
    rules = client(moto_server, "events").list_rules()["Rules"]
    assert sum(1 for r in rules if r.get("ScheduleExpression") == "rate(1 minute)") >= 4


def test_tenant_queue_gets_its_own_event_source_mapping(deployed: dict[str, str], moto_server: MotoServer) -> None:
    lam, sqs = client(moto_server, "lambda"), client(moto_server, "sqs")
    cloudwatch = client(moto_server, "cloudwatch")
    mappings = EventSourceMappings(lam, deployed["DispatchFunctionArn"], concurrency=5, cloudwatch=cloudwatch)
    queues = TenantQueues(sqs, deployed["QueuePrefix"], 360, mappings=mappings)
    url, dlq = queues.create("tenant-with-mapping")
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    found = lam.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"]
    assert len(found) == 1 and found[0]["FunctionArn"] == deployed["DispatchFunctionArn"]
    queues.create("tenant-with-mapping")  # idempotent: still one mapping
    assert len(lam.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"]) == 1
    name = url.rsplit("/", 1)[-1]
    alarms = {a["AlarmName"]: a for a in cloudwatch.describe_alarms(AlarmNamePrefix=name)["MetricAlarms"]}
    assert set(alarms) == {f"{name}-dlq-depth", f"{name}-oldest"}
    assert alarms[f"{name}-oldest"]["MetricName"] == "ApproximateAgeOfOldestMessage"
    queues.delete(url, dlq)
    assert lam.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"] == []
    assert cloudwatch.describe_alarms(AlarmNamePrefix=name)["MetricAlarms"] == []
