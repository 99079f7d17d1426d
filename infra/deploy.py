"""Deploy exactly what ``make package`` built (infra/build/) to AWS or an AWS-compatible endpoint.

    python -m infra.deploy --stack mail-proxy --param VpcId=vpc-… --param SubnetIds=subnet-a,subnet-b
    python -m infra.deploy --stack mail-proxy --migrate          # run the migrations again
    AWS_ENDPOINT_URL=http://127.0.0.1:4566 python -m infra.deploy …   # LocalStack

As ``aws cloudformation package`` + ``deploy`` do: the code package is uploaded to an
artifacts bucket under its content hash and every ``CodeUri`` is pointed at it; the
template goes through a change set (create or update), waited for with boto3's waiters.
An update with no changes succeeds; a failed deploy names the resources that failed and
why. Parameters not given keep their previous values on an update.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError, WaiterError

from infra.package import BUILD, code_uris

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]
NO_CHANGES = ("didn't contain changes", "No updates are to be performed", "No changes")


class DeployError(Exception):
    pass


@dataclass
class Target:
    stack: str
    region: str
    endpoint: str | None = None
    session: Any = field(init=False)

    def __post_init__(self) -> None:
        self.session = boto3.session.Session(region_name=self.region)

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint)


def _bucket(target: Target) -> str:
    s3 = target.client("s3")
    account = target.client("sts").get_caller_identity()["Account"]
    bucket = f"{target.stack.lower()}-artifacts-{account}-{target.region}"[:63]
    try:
        if target.region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": target.region})
    except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
        pass
    return bucket


def _object_url(target: Target, bucket: str, key: str) -> str:
    if target.endpoint:
        # Path style on the endpoint; emulators recognise their own S3 by "localhost".
        return f"{target.endpoint.rstrip('/').replace('127.0.0.1', 'localhost')}/{bucket}/{key}"
    return f"https://{bucket}.s3.{target.region}.amazonaws.com/{key}"


def expand(template: dict[str, Any], region: str) -> dict[str, Any]:
    """The SAM transform, done here with the library AWS's own transform is built from
    (aws-sam-translator), for endpoints that lack it (moto server)."""
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:  # our functions name their roles; SAM need not look policies up
        def load(self) -> dict[str, str]:
            return {}

    previous = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = region  # the translator reads the region from boto's session
    try:
        return dict(transform(template, {}, NoManagedPolicies()))
    finally:
        if previous is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
        else:
            os.environ["AWS_DEFAULT_REGION"] = previous


def upload(target: Target, build: Path = BUILD, expand_sam: bool = False) -> tuple[str, str]:
    """Upload the package and the template that names it; returns the template's URL and
    its content digest."""
    template = json.loads((build / "template.json").read_text())
    bucket = _bucket(target)
    s3 = target.client("s3")
    uploaded: dict[str, str] = {}
    for uri in code_uris(template):
        path = build / uri
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:20]
        key = f"code/{path.stem}-{digest}{path.suffix}"
        s3.upload_file(str(path), bucket, key)
        uploaded[uri] = f"s3://{bucket}/{key}"
    for resource in template["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = uploaded[resource["Properties"]["CodeUri"]]
    if expand_sam:
        template = expand(template, target.region)
    body = json.dumps(template, separators=(",", ":")).encode()
    digest = hashlib.sha256(body).hexdigest()[:20]
    key = f"templates/template-{digest}.json"
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    return _object_url(target, bucket, key), digest


def _stack_status(cf: Any, stack: str) -> str | None:
    try:
        return str(cf.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"])
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise


def _failures(cf: Any, stack: str, since: float) -> list[str]:
    """The resources that failed in this deploy, oldest first, with CloudFormation's reason."""
    found = []
    for page in cf.get_paginator("describe_stack_events").paginate(StackName=stack):
        for event in page["StackEvents"]:
            if event["Timestamp"].timestamp() < since - 5:
                break
            if str(event.get("ResourceStatus", "")).endswith("_FAILED"):
                found.append(
                    f"{event['LogicalResourceId']} ({event.get('ResourceType')}): "
                    f"{event.get('ResourceStatusReason', 'no reason given')}"
                )
    return list(reversed(found))


def _parameters(cf: Any, stack: str, exists: bool, given: dict[str, str], template_url: str) -> list[dict[str, Any]]:
    declared = cf.get_template_summary(TemplateURL=template_url)["Parameters"]
    out = []
    for param in declared:
        key = param["ParameterKey"]
        if key in given:
            out.append({"ParameterKey": key, "ParameterValue": given[key]})
        elif exists:
            out.append({"ParameterKey": key, "UsePreviousValue": True})
    return out


def deploy(
    target: Target, parameters: dict[str, str], build: Path = BUILD, timeout: float = 3600, expand_sam: bool = False
) -> dict[str, str]:
    """Create or update the stack from the built template; returns its outputs."""
    cf = target.client("cloudformation")
    template_url, template_digest = upload(target, build, expand_sam)
    status = _stack_status(cf, target.stack)
    if status == "ROLLBACK_COMPLETE":  # a failed first create cannot be updated: start again
        cf.delete_stack(StackName=target.stack)
        cf.get_waiter("stack_delete_complete").wait(StackName=target.stack)
        status = None
    exists = status is not None and status != "REVIEW_IN_PROGRESS"
    # What this deploy asks for: the template (code included, by its hash) and the given
    # parameters (the others keep their values). The same as the last deploy: nothing to do.
    given = hashlib.sha256(repr(sorted(parameters.items())).encode()).hexdigest()[:20]
    digest = f"{template_digest}:{given}"
    if exists and str(status).endswith("_COMPLETE") and "ROLLBACK" not in str(status):
        last_template, _, last_given = outputs(cf, target.stack).get("DeployDigest", "").partition(":")
        if last_template == template_digest and (not parameters or last_given == given):
            print(f"{target.stack}: no changes")
            return outputs(cf, target.stack)
    parameters = {**parameters, "DeployDigest": digest}
    name = f"deploy-{int(time.time())}"
    started = time.time()
    cf.create_change_set(
        StackName=target.stack,
        ChangeSetName=name,
        TemplateURL=template_url,
        ChangeSetType="UPDATE" if exists else "CREATE",
        Capabilities=CAPABILITIES,
        Parameters=_parameters(cf, target.stack, exists, parameters, template_url),
    )
    try:
        cf.get_waiter("change_set_create_complete").wait(
            StackName=target.stack, ChangeSetName=name, WaiterConfig={"Delay": 3, "MaxAttempts": 200}
        )
    except WaiterError as exc:
        reason = str(cf.describe_change_set(StackName=target.stack, ChangeSetName=name).get("StatusReason", exc))
        if any(text in reason for text in NO_CHANGES):
            cf.delete_change_set(StackName=target.stack, ChangeSetName=name)
            print(f"{target.stack}: no changes")
            return outputs(cf, target.stack)
        raise DeployError(f"change set failed: {reason}") from None
    cf.execute_change_set(StackName=target.stack, ChangeSetName=name)
    waiter = "stack_update_complete" if exists else "stack_create_complete"
    try:
        cf.get_waiter(waiter).wait(StackName=target.stack, WaiterConfig={"Delay": 5, "MaxAttempts": int(timeout / 5)})
    except WaiterError:
        failed = _failures(cf, target.stack, started)
        status = _stack_status(cf, target.stack)
        raise DeployError(f"{target.stack} ended {status}; failed: " + ("; ".join(failed) or "unknown")) from None
    return outputs(cf, target.stack)


def outputs(cf: Any, stack: str) -> dict[str, str]:
    found = cf.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    return {o["OutputKey"]: o["OutputValue"] for o in found}


def migrate(target: Target) -> dict[str, Any]:
    """Invoke the stack's migration function (what each deploy's custom resource does)."""
    name = outputs(target.client("cloudformation"), target.stack)["MigrateFunctionName"]
    answer = target.client("lambda").invoke(FunctionName=name, Payload=b"{}")
    payload: dict[str, Any] = json.loads(answer["Payload"].read() or b"{}")
    if answer.get("FunctionError"):
        raise DeployError(f"migration failed: {payload}")
    return payload


def _pairs(values: list[str]) -> dict[str, str]:
    out = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"--param wants Key=Value, got {value!r}")
        out[key] = rest
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default=os.environ.get("STACK", "mail-proxy"))
    parser.add_argument(
        "--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    )
    parser.add_argument("--param", action="append", default=[], help="a template parameter, Key=Value")
    parser.add_argument("--migrate", action="store_true", help="only invoke the migration function")
    parser.add_argument(
        "--expand-sam",
        action="store_true",
        help="apply the SAM transform here (for endpoints without it, such as moto server)",
    )
    args = parser.parse_args()
    target = Target(args.stack, args.region, os.environ.get("AWS_ENDPOINT_URL") or None)
    try:
        if args.migrate:
            print(json.dumps(migrate(target), indent=2))
            return 0
        print(json.dumps(deploy(target, _pairs(args.param), expand_sam=args.expand_sam), indent=2))
    except DeployError as exc:
        print(f"deploy failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
