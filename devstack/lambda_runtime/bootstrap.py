"""One local Lambda execution environment: stands in for Lambda's runtime, not our code.

Run by devstack.functions as ``python -I -S -u bootstrap.py TASK_ROOT HANDLER FD``: an
isolated interpreter whose path holds the unpacked deployment package and the standard
library, nothing else, as in Lambda. It imports the handler once (the cold start), then
serves one invocation at a time: requests arrive as JSON lines on stdin, answers leave on
file descriptor FD (the function's own stdout and stderr stay its log). Stdlib only.

If ``_LOCAL_LAMBDA_ROLE_POLICY`` names a file of IAM statements (the function's role from
the template), every AWS call the function makes with the role's credentials is checked
against it and refused with AccessDenied as AWS would; calls are logged to
``_LOCAL_LAMBDA_CALL_LOG``.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

# Lambda's limit on a synchronous invocation's answer (the figure its error message names).
MAX_RESPONSE_BYTES = 6_291_556

HERE = Path(__file__).resolve().parent


class Context:
    """The attributes of Lambda's context object."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.function_name = fields["function_name"]
        self.function_version = "$LATEST"
        self.invoked_function_arn = fields["invoked_function_arn"]
        self.memory_limit_in_mb = int(fields["memory_limit_in_mb"])
        self.aws_request_id = fields["aws_request_id"]
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self.identity = None
        self.client_context = None
        self._deadline_ms = int(fields["deadline_ms"])

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _error(exc: BaseException, kind: str | None = None) -> dict[str, Any]:
    return {
        "errorType": kind or type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exception(type(exc), exc, exc.__traceback__),
    }


def _log_error(message: str, exc: BaseException) -> None:
    """One JSON line on the function's log, the traceback in a field (as the functions' own
    logger writes), not a plain-text traceback between JSON lines."""
    sys.stderr.write(
        json.dumps(
            {
                "level": "ERROR",
                "message": message,
                "timestamp": time.strftime("%Y-%m-%d %H:%M:%S%z"),
                "function": os.environ.get("AWS_LAMBDA_FUNCTION_NAME", ""),
                "errorType": type(exc).__name__,
                "errorMessage": str(exc),
                "stackTrace": traceback.format_exception(type(exc), exc, exc.__traceback__),
            }
        )
        + "\n"
    )
    sys.stderr.flush()


def _load(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _install_iam(policy_file: str, call_log: str | None) -> None:
    """Hold every AWS call made with the role's credentials to the role's policy."""
    iam = _load("_local_lambda_iam", HERE / "iam.py")
    statements = json.loads(Path(policy_file).read_text())
    import botocore.client
    import botocore.exceptions

    # A private method the stubs do not declare: every client call goes through it.
    original = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]
    role = (os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY"))
    endpoint = (os.environ.get("AWS_ENDPOINT_URL") or "").rstrip("/")
    region = os.environ.get("AWS_REGION", "us-east-1")
    account = os.environ.pop("_LOCAL_LAMBDA_ACCOUNT", "000000000000")
    function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")

    def checked(self: Any, operation: str, params: dict[str, Any]) -> Any:
        # As in AWS, the role's policy judges only what the role itself asks of AWS: a client
        # built with other keys (a tenant's own S3 credentials) acts as those keys, and a call
        # to another endpoint (the tenant's MinIO) is not a call to this account at all.
        credentials = getattr(self._request_signer, "_credentials", None)
        mine = credentials is None or (credentials.access_key, credentials.secret_key) == role
        if mine and (not endpoint or self.meta.endpoint_url.rstrip("/") == endpoint):
            service = self.meta.service_model.endpoint_prefix
            action, resources, context = iam.request(service, operation, params, region, account)
            ok = iam.allowed(statements, action, resources, context)
            if call_log:
                with open(call_log, "a") as log:
                    log.write(
                        json.dumps(
                            {
                                "function": function,
                                "action": action,
                                "resources": resources,
                                "context": context,
                                "allowed": ok,
                            }
                        )
                        + "\n"
                    )
            if not ok:
                raise botocore.exceptions.ClientError(
                    {
                        "Error": {
                            "Code": "AccessDenied",
                            "Message": f"{function} is not authorized to perform {iam.describe(action, resources)} "
                            "(the role in the template does not allow it)",
                        }
                    },
                    operation,
                )
        return original(self, operation, params)

    botocore.client.BaseClient._make_api_call = checked  # type: ignore[attr-defined]


def die_with_parent() -> None:
    """An environment never outlives the host that runs it, even one killed with SIGKILL."""
    host = os.getppid()
    while True:
        time.sleep(0.5)
        if os.getppid() != host:
            os._exit(1)


def main() -> int:
    task_root, handler_spec, answer_fd = sys.argv[1], sys.argv[2], int(sys.argv[3])
    threading.Thread(target=die_with_parent, name="die-with-host", daemon=True).start()
    sys.path.insert(0, task_root)
    os.chdir(task_root)
    answers = os.fdopen(answer_fd, "w", buffering=1)
    policy = os.environ.pop("_LOCAL_LAMBDA_ROLE_POLICY", None)
    call_log = os.environ.pop("_LOCAL_LAMBDA_CALL_LOG", None)
    started = time.monotonic()
    handler = None
    init_error = None
    try:
        if policy:
            _install_iam(policy, call_log)
        module_name, function_name = handler_spec.rsplit(".", 1)
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as exc:  # noqa: BLE001 - reported as Lambda reports an init failure
        init_error = _error(exc, "Runtime.ImportModuleError")
        _log_error("the handler could not be imported (cold start failed)", exc)
    answers.write(
        json.dumps({"ready": True, "init_error": init_error, "init_seconds": round(time.monotonic() - started, 4)})
        + "\n"
    )
    for line in sys.stdin:
        request = json.loads(line)
        if handler is None:
            answers.write(json.dumps({"error": init_error}) + "\n")
            continue
        try:
            result = handler(request["event"], Context(request["context"]))
            answer = {"result": result}
        except Exception as exc:  # noqa: BLE001 - the invocation's error, as Lambda reports it
            _log_error("the invocation failed with an unhandled exception", exc)
            answer = {"error": _error(exc)}
        try:
            line = json.dumps(answer)
            if "result" in answer and len(json.dumps(answer["result"]).encode()) > MAX_RESPONSE_BYTES:
                # Lambda refuses a synchronous answer over 6 MB; API Gateway then answers 502.
                line = json.dumps(
                    {
                        "error": {
                            "errorType": "Function.ResponseSizeTooLarge",
                            "errorMessage": f"Response payload size exceeded maximum allowed payload size "
                            f"({MAX_RESPONSE_BYTES} bytes).",
                        }
                    }
                )
            answers.write(line + "\n")
        except (TypeError, ValueError) as exc:
            answers.write(json.dumps({"error": _error(exc, "Runtime.MarshalError")}) + "\n")
        sys.stdout.flush()
        sys.stderr.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
