"""The stack around Chalice's API (infra.template) and the rules between its numbers."""

from __future__ import annotations

import json

import pytest

from chalicelib import limits
from infra.template import API, finish, functions, merge_template

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def merge() -> dict:
    return merge_template()


def test_the_shipped_numbers_keep_every_rule() -> None:
    timeouts = {fn.short: fn.timeout for fn in functions().values()}
    broken = limits.rules(
        function_timeouts=timeouts,
        mappings=[(limits.QUEUE_VISIBILITY_TIMEOUT, limits.DISPATCH_TIMEOUT, limits.BATCH_SIZE)],
        claim_lease=limits.CLAIM_LEASE,
        budget=limits.DISPATCH_BUDGET,
    )
    assert broken == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"visibility": 100}, "below function timeout"),  # AWS refuses the mapping
        ({"visibility": 300}, "below 6x function timeout"),  # AWS's recommendation
        ({"api": 60}, "exceeds API Gateway's 29s"),
        ({"batch": 11}, "batch size 11"),
        ({"lease": 100}, "claim lease 100s must outlive"),
        ({"budget": 200}, "dispatch budget 200s"),
        ({"dispatch": 1000}, "outside 1..900"),
    ],
)
def test_a_broken_number_is_named(change: dict, expected: str) -> None:
    dispatch = change.get("dispatch", limits.DISPATCH_TIMEOUT)
    broken = limits.rules(
        function_timeouts={"api": change.get("api", limits.API_TIMEOUT), "dispatch": dispatch},
        mappings=[(change.get("visibility", 6 * min(dispatch, 900)), min(dispatch, 900), change.get("batch", 10))],
        claim_lease=change.get("lease", limits.CLAIM_LEASE),
        budget=change.get("budget", limits.DISPATCH_BUDGET),
    )
    assert any(expected in b for b in broken), broken


def test_the_code_defaults_are_the_templates_numbers() -> None:
    from chalicelib.config import load_settings

    settings = load_settings({"MAILPROXY_API_TOKEN": "t"})
    assert settings.visibility_timeout == limits.QUEUE_VISIBILITY_TIMEOUT
    assert settings.claim_lease_seconds == limits.CLAIM_LEASE
    assert settings.tenant_batch_size == limits.BATCH_SIZE
    assert settings.tenant_concurrency == limits.TENANT_CONCURRENCY


def test_every_function_shares_chalices_package_and_has_its_own_role(merge: dict) -> None:
    resources = merge["Resources"]
    for logical in functions():
        props = resources[logical]["Properties"]
        assert props["Role"] == {"Fn::GetAtt": [f"{logical}Role", "Arn"]}
        if logical != API:  # the API's code and handler are Chalice's own
            assert props["CodeUri"] == "./deployment.zip"
            assert props["Runtime"] == "python3.11" and props["Architectures"] == ["x86_64"]
        assert resources[f"{logical}Logs"]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def _statements(merge: dict, logical: str) -> list[dict]:
    return merge["Resources"][f"{logical}Role"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]


def test_roles_grant_no_wildcard_actions_and_queues_only_under_the_prefix(merge: dict) -> None:
    for logical in functions():
        for statement in _statements(merge, logical):
            assert all("*" not in action for action in statement["Action"]), logical
            if any(a.startswith("sqs:") for a in statement["Action"]):
                text = json.dumps(statement["Resource"])
                assert "${QueuePrefix}-t-*" in text or "SystemQueue" in text or "WorkQueue" in text, logical


def test_only_the_api_and_the_retry_tick_provision_queues_and_mappings_only_onto_the_dispatcher(merge: dict) -> None:
    for logical in functions():
        actions = {a for s in _statements(merge, logical) for a in s["Action"]}
        creating = {
            a
            for a in actions
            if a in {"sqs:CreateQueue", "lambda:CreateEventSourceMapping", "cloudwatch:PutMetricAlarm"}
        }
        removing = {
            a for a in actions if a in {"sqs:DeleteQueue", "lambda:DeleteEventSourceMapping", "cloudwatch:DeleteAlarms"}
        }
        assert (logical in (API, "RetryFunction")) == bool(creating), (logical, creating)
        assert (logical == API) == bool(removing), (logical, removing)
    for statement in _statements(merge, API):
        if statement["Action"] in (["lambda:CreateEventSourceMapping"], ["lambda:DeleteEventSourceMapping"]):
            # The dispatcher's ARN by its name (no GetAtt: its environment names the API's URL).
            assert statement["Condition"] == {
                "ArnLike": {
                    "lambda:FunctionArn": {
                        "Fn::Sub": (
                            "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-dispatch"
                        )
                    }
                }
            }
    assert merge["Resources"]["DispatchFunction"]["Properties"]["FunctionName"] == {
        "Fn::Sub": "${AWS::StackName}-dispatch"
    }


def test_only_the_dispatcher_writes_large_files_and_the_bucket_expires_them(merge: dict) -> None:
    writers = [logical for logical in functions() if "s3:PutObject" in json.dumps(_statements(merge, logical))]
    assert writers == ["DispatchFunction"]
    bucket = merge["Resources"]["LargeFilesBucket"]["Properties"]
    assert bucket["LifecycleConfiguration"]["Rules"][0]["Status"] == "Enabled"
    assert bucket["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True


def test_alarms_notify_the_topic_an_email_parameter_subscribes_to(merge: dict) -> None:
    resources = merge["Resources"]
    alarms = {k: v for k, v in resources.items() if v.get("Type") == "AWS::CloudWatch::Alarm"}
    assert {"SystemDeadLetterAlarm", "DispatchErrorsAlarm", "ApiErrorsAlarm"} <= set(alarms)
    assert all(a["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms.values())
    subscription = resources["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}


def test_the_database_is_created_behind_rds_proxy_only_without_a_url(merge: dict) -> None:
    resources = merge["Resources"]
    created = {k for k, v in resources.items() if v.get("Condition") == "CreateDatabase"}
    assert {
        "DatabaseCluster",
        "DatabaseInstance",
        "DatabaseProxy",
        "DatabaseProxyTargetGroup",
        "DatabaseCredentials",
    } <= created
    assert resources["DatabaseInstance"]["Properties"]["DBInstanceClass"] == "db.serverless"
    assert resources["DatabaseProxy"]["Properties"]["RequireTLS"] is True
    assert resources["DatabaseUrlSecret"]["Condition"] == "UseGivenDatabase"
    migration = resources["DatabaseMigration"]["Properties"]
    assert migration["ServiceToken"] == {"Fn::GetAtt": ["MigrateFunction", "Arn"]}
    assert len(migration["Migrations"]) == 16


def test_functions_that_reach_postgresql_run_in_the_vpc_when_given(merge: dict) -> None:
    for logical in functions():
        vpc = merge["Resources"][logical]["Properties"]["VpcConfig"]
        assert vpc["Fn::If"][0] == "HasVpc" and vpc["Fn::If"][1]["SubnetIds"] == {"Ref": "SubnetIds"}


def test_the_system_queue_has_the_attributes_the_code_would_give_it(merge: dict) -> None:
    import boto3

    from chalicelib.adapters.queues import TenantQueues

    queues = TenantQueues(boto3.client("sqs", region_name="us-east-1"), "p", limits.QUEUE_VISIBILITY_TIMEOUT)
    code = queues._attributes("DLQ-ARN")
    template = merge["Resources"]["SystemQueue"]["Properties"]
    # The operator's parameter, whose default is the code's value.
    assert template["VisibilityTimeout"] == {"Ref": "QueueVisibilityTimeout"}
    assert str(merge["Parameters"]["QueueVisibilityTimeout"]["Default"]) == code["VisibilityTimeout"]
    assert str(template["MessageRetentionPeriod"]) == code["MessageRetentionPeriod"]
    assert template["RedrivePolicy"]["maxReceiveCount"] == json.loads(code["RedrivePolicy"])["maxReceiveCount"]


@pytest.mark.parametrize("access", ["iam", "public", "none"])
def test_metrics_route_follows_the_operators_choice(access: str) -> None:
    from devstack.cfn import Context, Template

    chalice_like = {
        "Resources": {
            "RestAPI": {
                "Type": "AWS::Serverless::Api",
                "Properties": {
                    "DefinitionBody": {"paths": {"/metrics": {"get": {}, "post": {}}, "/health": {"get": {}}}}
                },
            }
        },
        "Parameters": {"MetricsAccess": {"Type": "String", "Default": "iam"}},
        "Conditions": merge_template()["Conditions"],
    }
    template = Template(finish(chalice_like), Context({"MetricsAccess": access}))
    paths = template.api_paths()
    if access == "none":
        assert "/metrics" not in paths
    else:
        secured = [m.get("security") for m in paths["/metrics"].values()]
        assert secured == ([[{"sigv4": []}]] * 2 if access == "iam" else [None, None])
    assert "/health" in paths


def test_the_pools_concurrency_fits_a_default_account(merge: dict) -> None:
    """AWS keeps 100 of an account's 1,000 executions unreserved; the pool's mapping and the
    system queue's must fit the dispatch function's reservation."""
    params = merge["Parameters"]
    dispatch, api = params["DispatchReservedConcurrency"]["Default"], params["ApiReservedConcurrency"]["Default"]
    assert params["WorkConcurrency"]["Default"] + limits.SYSTEM_CONCURRENCY <= dispatch
    assert dispatch + api <= 1000 - 100
    work = merge["Resources"]["DispatchFunction"]["Properties"]["Events"]["WorkQueue"]["Properties"]
    assert work["ScalingConfig"]["MaximumConcurrency"] == {"Ref": "WorkConcurrency"}
    assert merge["Resources"]["WorkQueue"]["Properties"]["VisibilityTimeout"] == {"Ref": "QueueVisibilityTimeout"}


def test_every_connection_the_functions_may_hold_fits_the_database_proxy(merge: dict) -> None:
    """Pool size x environments (reserved concurrency, plus the unreserved scheduled functions)
    against what RDS Proxy may open at the template's maximum capacity, by the template's own
    defaults (that no statement is prepared on the server: tests/functional/test_database_pool.py)."""
    from chalicelib.settings_catalog import SETTINGS

    params = merge["Parameters"]
    pool = int(params["DatabasePoolSize"]["Default"])
    reserved = {
        "dispatch": int(params["DispatchReservedConcurrency"]["Default"]),
        "api": int(params["ApiReservedConcurrency"]["Default"]),
    }
    assert (
        limits.database_budget(
            pool_size=pool, reserved=reserved, max_acu=float(params["DatabaseMaxCapacity"]["Default"])
        )
        == []
    )
    assert limits.database_budget(pool_size=pool, reserved=reserved, max_acu=4), "4 ACU would not hold it"
    assert pool == next(s.default for s in SETTINGS if s.attribute == "db_pool_size")
    proxy = merge["Resources"]["DatabaseProxyTargetGroup"]["Properties"]["ConnectionPoolConfigurationInfo"]
    assert proxy["MaxConnectionsPercent"] == limits.PROXY_MAX_CONNECTIONS_PERCENT
