"""``make deploy`` of the built artifact to AWS-compatible endpoints.

LocalStack's CloudFormation deploys the whole template (SAM transform included) with its
own API Gateway, Lambda (functions run by localstack/lambda_executor, as local processes),
event source mappings, queues, secrets, bucket, topic and alarms; the deployed API then
creates a tenant whose mail LocalStack's own event source mapping hands to the deployed
dispatch function. Not created there: the database, its proxy and the VPC pieces (their
conditions are off when a DatabaseUrl is given; RDS and RDS Proxy are not in LocalStack's
community edition), and the migration custom resource, for which LocalStack's community
edition has no provider (the migration function is invoked as ``make migrate`` does).
(moto server has neither the SAM transform nor API Gateway's import of a swagger body, so
the template cannot deploy there.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
import requests

from devstack.aws import LocalStack
from devstack.postgres import PostgresCluster
from devstack.procs import free_port
from devstack.stack import ensure_package
from infra.deploy import DeployError, Target, deploy, expand, migrate
from infra.package import BUILD
from tests.support.factories import account_payload, message_payload, unique
from tests.support.polling import eventually
from tests.support.smtp import SmtpSink

pytestmark = pytest.mark.integration

CONDITIONAL_OFF = {
    # CreateDatabase (a DatabaseUrl is given) and HasVpcId / HasAlarmEmail (not given).
    "DatabaseCredentials",
    "DatabaseSecurityGroup",
    "DatabaseSelfIngress",
    "DatabaseSubnetGroup",
    "DatabaseCluster",
    "DatabaseInstance",
    "DatabaseSecretAttachment",
    "DatabaseProxyRole",
    "DatabaseProxy",
    "DatabaseProxyTargetGroup",
    "FunctionSecurityGroup",
    "AlarmEmailSubscription",
}


@pytest.fixture(scope="module")
def localstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    ensure_package()
    server = LocalStack(free_port(), log_dir=tmp_path_factory.mktemp("localstack")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def deployed(localstack: LocalStack, pg: PostgresCluster) -> dict[str, str]:
    target = Target(f"mp-{unique('it')}", "us-east-1", localstack.url)
    outputs = deploy(
        target,
        {
            "DatabaseUrl": pg.create_database(unique("deployed").replace("-", "_")),
            "MetricsAccess": "public",
            "QueuePrefix": unique("dep")[:30],
            "OutboundAllow": "127.0.0.0/8",
            # An operator's setting, as a parameter: observed in the functions.
            "MaxList": "7",
        },
        timeout=600,
    )
    outputs["Stack"] = target.stack
    return outputs


def aws(localstack: LocalStack, service: str):
    return boto3.client(service, endpoint_url=localstack.url, region_name="us-east-1")


def test_the_whole_template_deploys_to_localstacks_cloudformation(
    localstack: LocalStack, deployed: dict[str, str]
) -> None:
    cf = aws(localstack, "cloudformation")
    stack = cf.describe_stacks(StackName=deployed["Stack"])["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    created = {
        r["LogicalResourceId"]: r
        for r in cf.list_stack_resources(StackName=deployed["Stack"])["StackResourceSummaries"]
    }
    template = json.loads((BUILD / "template.json").read_text())
    for resource in template["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://bucket/code.zip"
    expected = set(expand(template, "us-east-1")["Resources"]) - CONDITIONAL_OFF
    assert expected <= set(created), sorted(expected - set(created))
    assert all(r["ResourceStatus"] == "CREATE_COMPLETE" for r in created.values())
    lam = aws(localstack, "lambda")
    dispatch = lam.get_function(FunctionName=deployed["DispatchFunctionArn"])["Configuration"]
    assert dispatch["Handler"] == "functions.dispatch.handler" and dispatch["Timeout"] == 120
    assert dispatch["Environment"]["Variables"]["MAILPROXY_MAX_LIST"] == "7"
    system = [
        m
        for m in lam.list_event_source_mappings(FunctionName=deployed["DispatchFunctionArn"])["EventSourceMappings"]
        if m["EventSourceArn"].endswith("-system")
    ]
    assert len(system) == 1 and system[0]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_the_deployed_stack_migrates_and_sends_mail_through_localstack(
    localstack: LocalStack, deployed: dict[str, str]
) -> None:
    target = Target(deployed["Stack"], "us-east-1", localstack.url)
    assert len(migrate(target)["applied"]) >= 5  # what `make migrate` runs
    assert migrate(target)["applied"] == []  # idempotent
    token = aws(localstack, "secretsmanager").get_secret_value(SecretId=deployed["AdminTokenSecretArn"])
    api_id = deployed["ApiUrl"].split("//", 1)[1].split(".", 1)[0]
    base = f"{localstack.url}/restapis/{api_id}/api/_user_request_"
    session = requests.Session()
    session.headers["X-API-Token"] = token["SecretString"]

    def call(method: str, path: str, **kwargs: object) -> requests.Response:
        answer = session.request(method, base + path, timeout=60, **kwargs)  # type: ignore[arg-type]
        assert answer.status_code == 200, (method, path, answer.status_code, answer.text)
        return answer

    assert call("GET", "/health").json() == {"status": "ok"}
    # The MaxList parameter reached the deployed API function and is in force there.
    assert call("GET", "/status").json()["settings"]["MAILPROXY_MAX_LIST"] == "7"
    assert call("GET", "/metrics").headers["Content-Type"].startswith("text/plain")
    sink = SmtpSink().start()
    try:
        lam = aws(localstack, "lambda")

        def mappings() -> list[str]:
            return [
                m["EventSourceArn"]
                for m in lam.list_event_source_mappings(FunctionName=deployed["DispatchFunctionArn"])[
                    "EventSourceMappings"
                ]
            ]

        assert any(arn.endswith("-work") for arn in mappings()), "the pool's one mapping, from the template"
        # A pooled tenant: its mail goes through the template's work queue mapping.
        tenant = unique("deployed")
        call("POST", "/tenant", json={"id": tenant})
        assert not any("-t-deployed" in arn for arn in mappings()), "no AWS resource per pooled tenant"
        account = account_payload(tenant, sink.port)
        call("POST", "/account", json=account)
        message = message_payload(tenant, account["id"])
        assert call("POST", "/commands/add-messages", json={"messages": [message]}).json()["queued"] == 1
        eventually(
            lambda: sink.ids() == [message["id"]],
            timeout=60,
            what="the pooled message sent by the deployed dispatch function",
        )
        # Dedicated: a queue and mapping of its own, made by the deployed API's role.
        call("PUT", f"/tenant/{tenant}", json={"isolation": "dedicated"})
        assert any("-t-deployed" in arn for arn in mappings()), "the dedicated tenant's own mapping"
        second = message_payload(tenant, account["id"])
        call("POST", "/commands/add-messages", json={"messages": [second]})
        eventually(
            lambda: sink.ids() == [message["id"], second["id"]],
            timeout=60,
            what="the dedicated tenant's message sent through its own mapping",
        )
        call("DELETE", f"/tenant/{tenant}")
    finally:
        sink.stop()


def test_a_deploy_with_no_changes_succeeds(localstack: LocalStack, deployed: dict[str, str]) -> None:
    outputs = deploy(Target(deployed["Stack"], "us-east-1", localstack.url), {}, timeout=600)
    assert outputs["DispatchFunctionArn"] == deployed["DispatchFunctionArn"]


def test_a_failed_update_names_the_failing_resource(localstack: LocalStack, deployed: dict[str, str]) -> None:
    target = Target(deployed["Stack"], "us-east-1", localstack.url)
    with pytest.raises(DeployError) as failure:
        deploy(target, {"AlarmEmail": "not an address"}, timeout=600)
    assert "AlarmEmailSubscription (AWS::SNS::Subscription)" in str(failure.value), str(failure.value)
    status = aws(localstack, "cloudformation").describe_stacks(StackName=deployed["Stack"])["Stacks"][0]
    assert status["StackStatus"] in ("UPDATE_ROLLBACK_COMPLETE", "UPDATE_FAILED")
