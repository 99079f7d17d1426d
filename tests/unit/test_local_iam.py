"""The local stack's IAM check: API calls mapped to actions and resources, policies evaluated."""

from __future__ import annotations

import pytest

from devstack.lambda_runtime.iam import allowed, request

pytestmark = pytest.mark.unit

REGION, ACCOUNT = "us-east-1", "123456789012"
DISPATCH = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:mp-dispatch"
POLICY = [
    {
        "Effect": "Allow",
        "Action": ["sqs:SendMessage", "sqs:CreateQueue"],
        "Resource": f"arn:aws:sqs:{REGION}:{ACCOUNT}:mailproxy-t-*",
    },
    {
        "Effect": "Allow",
        "Action": ["lambda:CreateEventSourceMapping"],
        "Resource": "*",
        "Condition": {"ArnLike": {"lambda:FunctionArn": DISPATCH}},
    },
    {"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": "arn:aws:s3:::large-files/*"},
]


def check(service: str, operation: str, **params: object) -> bool:
    action, resources, context = request(service, operation, params, REGION, ACCOUNT)
    return allowed(POLICY, action, resources, context)


def test_queue_calls_are_held_to_the_queue_names_the_role_names() -> None:
    url = f"http://127.0.0.1:4566/{ACCOUNT}/mailproxy-t-acme-1234"
    assert check("sqs", "SendMessage", QueueUrl=url)
    assert check("sqs", "SendMessageBatch", QueueUrl=url)  # the batch call is the same action
    assert check("sqs", "CreateQueue", QueueName="mailproxy-t-new")
    assert not check("sqs", "SendMessage", QueueUrl=f"http://h/{ACCOUNT}/mailproxy-system")
    assert not check("sqs", "DeleteQueue", QueueUrl=url)


def test_event_source_mappings_only_onto_the_named_function() -> None:
    assert check("lambda", "CreateEventSourceMapping", FunctionName=DISPATCH, EventSourceArn="q")
    assert check("lambda", "CreateEventSourceMapping", FunctionName="mp-dispatch", EventSourceArn="q")
    assert not check("lambda", "CreateEventSourceMapping", FunctionName="mp-api", EventSourceArn="q")


def test_objects_only_in_the_granted_bucket_and_unknown_calls_refused() -> None:
    assert check("s3", "PutObject", Bucket="large-files", Key="t/1/a.bin")
    assert not check("s3", "PutObject", Bucket="another", Key="a.bin")
    assert not check("s3", "GetObject", Bucket="large-files", Key="a.bin")
    assert not check("sqs", "ListQueues")


def test_cloudwatch_alarms_map_to_alarm_arns() -> None:
    action, resources, _ = request("monitoring", "DeleteAlarms", {"AlarmNames": ["a", "b"]}, REGION, ACCOUNT)
    assert action == "cloudwatch:DeleteAlarms"
    assert resources == [f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}" for name in ("a", "b")]
