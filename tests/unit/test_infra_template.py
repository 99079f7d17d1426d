"""The CloudFormation template: valid for cfn-lint, complete, least privilege."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infra.template import FUNCTIONS, SCHEDULED, build


@pytest.fixture(scope="module")
def template() -> dict:
    return build()


def resources_of(template: dict, kind: str) -> dict:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def test_template_passes_cfn_lint(template: dict, tmp_path: Path) -> None:
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template))
    lint = shutil.which("cfn-lint", path=str(Path(sys.executable).parent)) or "cfn-lint"
    result = subprocess.run([lint, str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_function_has_its_own_role_and_handler(template: dict) -> None:
    functions = resources_of(template, "AWS::Lambda::Function")
    assert set(functions) == set(FUNCTIONS)
    roles = {f["Properties"]["Role"]["Fn::GetAtt"][0] for f in functions.values()}
    assert len(roles) == len(functions), "one role per function"
    handlers = {f["Properties"]["Handler"] for f in functions.values()}
    assert {"app.app", "functions.dispatch.handler"} <= handlers


def test_scheduled_functions_fire_every_minute(template: dict) -> None:
    rules = resources_of(template, "AWS::Events::Rule")
    targets = {r["Properties"]["Targets"][0]["Arn"]["Fn::GetAtt"][0] for r in rules.values()}
    assert targets == set(SCHEDULED)
    assert {r["Properties"]["ScheduleExpression"] for r in rules.values()} == {"rate(1 minute)"}


def test_roles_grant_no_wildcard_actions_and_queues_only_under_the_prefix(template: dict) -> None:
    for name, role in resources_of(template, "AWS::IAM::Role").items():
        for statement in role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]:
            assert all("*" not in action for action in statement["Action"]), name
            if any(a.startswith("sqs:") for a in statement["Action"]):
                assert "${QueuePrefix}-*" in json.dumps(statement["Resource"]), name


def test_only_the_dispatcher_may_write_large_files(template: dict) -> None:
    writers = [name for name, role in resources_of(template, "AWS::IAM::Role").items()
               if "s3:PutObject" in json.dumps(role)]
    assert writers == ["DispatchFunctionRole"]


def test_large_files_expire_and_secrets_are_generated(template: dict) -> None:
    bucket = template["Resources"]["LargeFilesBucket"]["Properties"]
    assert bucket["LifecycleConfiguration"]["Rules"][0]["Status"] == "Enabled"
    assert bucket["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is True
    for secret in ("AdminTokenSecret", "EncryptionKeySecret"):
        assert "GenerateSecretString" in template["Resources"][secret]["Properties"]
    assert template["Parameters"]["DatabaseUrl"]["NoEcho"] is True


def test_alarms_watch_the_dead_letter_queue_and_dispatch_errors(template: dict) -> None:
    alarms = resources_of(template, "AWS::CloudWatch::Alarm")
    metrics = {a["Properties"]["MetricName"] for a in alarms.values()}
    assert {"ApproximateNumberOfMessagesVisible", "Errors"} <= metrics
