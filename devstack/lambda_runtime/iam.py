"""IAM, as far as the local stack needs it: does a role's policy allow this AWS call?

Stdlib only: it runs inside the function's isolated interpreter (see bootstrap.py). It maps
the API operations Mail Proxy's code calls to IAM actions, resources and condition keys the
way AWS's service authorization reference does, and evaluates Allow statements (no Deny is
written in our roles) with wildcards and the ArnLike/ArnEquals/StringEquals/StringLike
conditions.
"""

from __future__ import annotations

import fnmatch
from typing import Any
from urllib.parse import urlparse

# botocore operation -> IAM action, where they differ.
ACTIONS = {
    ("sqs", "DeleteMessageBatch"): "sqs:DeleteMessage",
    ("sqs", "SendMessageBatch"): "sqs:SendMessage",
    ("sqs", "ChangeMessageVisibilityBatch"): "sqs:ChangeMessageVisibility",
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "PutObjectAcl"): "s3:PutObjectAcl",
}
PREFIXES = {"monitoring": "cloudwatch"}


def _queue_arn(url_or_name: str, region: str, account: str) -> str:
    if "/" in url_or_name:
        parts = urlparse(url_or_name).path.strip("/").split("/")
        account, name = (parts[-2], parts[-1]) if len(parts) >= 2 else (account, parts[-1])
    else:
        name = url_or_name
    return f"arn:aws:sqs:{region}:{account}:{name}"


def request(
    service: str, operation: str, params: dict[str, Any], region: str, account: str
) -> tuple[str, list[str], dict[str, str]]:
    """(action, resource ARNs, condition context) of one API call."""
    prefix = PREFIXES.get(service, service)
    action = ACTIONS.get((service, operation), f"{prefix}:{operation}")
    context: dict[str, str] = {}
    resources = ["*"]
    if service == "sqs":
        target = params.get("QueueUrl") or params.get("QueueName")
        if target:
            resources = [_queue_arn(str(target), region, account)]
    elif service == "secretsmanager" and params.get("SecretId"):
        resources = [str(params["SecretId"])]
    elif service == "s3" and params.get("Bucket"):
        key = params.get("Key")
        resources = [f"arn:aws:s3:::{params['Bucket']}" + (f"/{key}" if key is not None else "")]
    elif service == "lambda":
        function = params.get("FunctionName")
        if function:
            context["lambda:FunctionArn"] = (
                str(function)
                if str(function).startswith("arn:")
                else f"arn:aws:lambda:{region}:{account}:function:{function}"
            )
        if operation in ("DeleteEventSourceMapping", "GetEventSourceMapping", "UpdateEventSourceMapping"):
            resources = [f"arn:aws:lambda:{region}:{account}:event-source-mapping:{params.get('UUID')}"]
    elif prefix == "cloudwatch":
        names = params.get("AlarmNames") or ([params["AlarmName"]] if params.get("AlarmName") else [])
        if names:
            resources = [f"arn:aws:cloudwatch:{region}:{account}:alarm:{n}" for n in names]
    return action, resources, context


def _like(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _conditions_hold(conditions: dict[str, Any], context: dict[str, str]) -> bool:
    for operator, tests in conditions.items():
        for key, wanted in tests.items():
            actual = context.get(key)
            if actual is None:
                # A condition on a key the request does not carry: AWS does not match
                # (except for ...IfExists, which we do not write).
                if operator in ("ArnLike", "ArnEquals") and key == "lambda:FunctionArn":
                    # AWS evaluates it against the mapping's function even when the call
                    # names only the mapping; the local check cannot look that up.
                    continue
                return False
            if operator in ("ArnLike", "StringLike"):
                ok = any(_like(str(w), actual) for w in _listed(wanted))
            elif operator in ("ArnEquals", "StringEquals"):
                ok = actual in [str(w) for w in _listed(wanted)]
            else:
                return False
            if not ok:
                return False
    return True


def allowed(statements: list[dict[str, Any]], action: str, resources: list[str], context: dict[str, str]) -> bool:
    """Every resource of the call must be allowed by some Allow statement."""
    return all(any(_statement_allows(s, action, resource, context) for s in statements) for resource in resources)


def _statement_allows(statement: dict[str, Any], action: str, resource: str, context: dict[str, str]) -> bool:
    if statement.get("Effect") != "Allow":
        return False
    if not any(_like(str(a).lower(), action.lower()) for a in _listed(statement.get("Action", []))):
        return False
    patterns = [str(r) for r in _listed(statement.get("Resource", []))]
    if resource == "*":
        if "*" not in patterns:
            return False
    elif not any(_like(p, resource) for p in patterns):
        return False
    return _conditions_hold(statement.get("Condition", {}), context)


def describe(action: str, resources: list[str]) -> str:
    return f"{action} on {', '.join(resources)}"
