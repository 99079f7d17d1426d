"""Each function's AWS calls, held to the role the template gives it.

The local Lambda stand-in checks every AWS call a function makes against its role's policy
from the built template (and refuses what the role does not allow, as AWS would), logging
each call. A whole tenant lifecycle must need nothing its roles lack.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import boto3
import pytest

from devstack.functions import FunctionHost
from devstack.stack import Stack
from tests.support.api import ApiClient
from tests.support.polling import eventually
from tests.support.smtp import SmtpSink
from tests.support.tenants import TenantFactory

pytestmark = pytest.mark.integration


def calls(stack: Stack) -> list[dict]:
    assert stack.deployment is not None
    path = Path(stack.deployment.call_log)
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def test_a_tenants_whole_life_needs_no_right_its_roles_lack(
    stack: Stack, admin: ApiClient, make_tenant: TenantFactory, sink: SmtpSink
) -> None:
    before = len(calls(stack))
    handle = make_tenant(sink)
    handle.client.ok("POST", "/commands/add-messages", json={"messages": [handle.message(id="roles-1")]})
    eventually(lambda: sink.ids() == ["roles-1"], what="the message sent through the dispatch function")
    # Dedicated and back: the API makes and removes the tenant's queue and mapping.
    admin.ok("PUT", f"/tenant/{handle.id}", json={"isolation": "dedicated"})
    handle.client.ok("POST", "/commands/add-messages", json={"messages": [handle.message(id="roles-2")]})
    eventually(lambda: sink.ids() == ["roles-1", "roles-2"], what="sent through the tenant's own queue")
    admin.ok("PUT", f"/tenant/{handle.id}", json={"isolation": "pool"})
    admin.ok("POST", f"/commands/run-now?tenant_id={handle.id}")
    admin.ok("POST", "/instance/reload-bounce")
    admin.ok("DELETE", f"/tenant/{handle.id}")
    made = calls(stack)[before:]
    api_actions = {c["action"] for c in made if c["function"].endswith("-api")}
    assert {"sqs:CreateQueue", "sqs:DeleteQueue", "sqs:SendMessage"} <= api_actions, api_actions
    denied = [c for c in calls(stack) if not c["allowed"]]
    assert denied == [], "a function called AWS beyond its role"


PROBE = """
import boto3

def handler(event, context):
    try:
        boto3.client("sqs").create_queue(QueueName=event["queue"])
        return "created"
    except Exception as exc:
        return type(exc).__name__ + ": " + str(exc)
"""


def test_a_call_outside_the_role_is_refused_as_aws_refuses_it(stack: Stack, tmp_path: Path) -> None:
    """The reports function's role may send work records but not create queues."""
    assert stack.deployment is not None
    task = Path(stack.deployment.task_root)
    for entry in task.iterdir():  # the package, plus a probe handler
        (tmp_path / entry.name).symlink_to(entry)
    (tmp_path / "probe.py").write_text(PROBE)
    reports = stack.deployment.spec("ReportsFunction")
    spec = dataclasses.replace(reports, handler="probe.handler", environment={})
    host = FunctionHost(spec, tmp_path, tmp_path, max_environments=1, extra_env=stack.deployment.extra_env)
    queue = f"{stack.o.queue_prefix}-t-probe"
    try:
        answer = host.invoke({"queue": queue})
    finally:
        host.stop()
    assert answer.startswith("ClientError") and "AccessDenied" in answer and "sqs:CreateQueue" in answer, answer
    listed = (
        boto3.client("sqs", endpoint_url=stack.aws_url, region_name="us-east-1")
        .list_queues(QueueNamePrefix=queue)
        .get("QueueUrls", [])
    )
    assert listed == []
