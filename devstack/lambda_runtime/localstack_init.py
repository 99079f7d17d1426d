"""The init of one LocalStack execution environment, as a local process (stdlib only).

Started by the ``mailproxy`` LocalStack runtime executor (localstack/lambda_executor) as
``python -I -S -u localstack_init.py PORT CODE_DIR`` with the environment LocalStack gives a
function. It speaks LocalStack's init protocol: it reports ready (or an init error) to
``$LOCALSTACK_RUNTIME_ENDPOINT/status/$LOCALSTACK_RUNTIME_ID/…``, accepts invocations on
``POST /invoke`` and posts each answer to ``…/invocations/<id>/response`` or ``…/error``.
The handler runs in devstack.functions' isolated environment: the function's code alone on
the path, its timeout and memory enforced.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from devstack.functions import Environment, FunctionSpec, InvocationError
from devstack.lambda_runtime.bootstrap import die_with_parent

RESERVED = ("LOCALSTACK_", "_HANDLER", "EDGE_PORT", "_AWS_XRAY", "AWS_XRAY", "AWS_LAMBDA_INITIALIZATION_TYPE")


def _post(url: str, body: Any) -> None:
    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        answer.read()


class Init:
    def __init__(self, code: Path) -> None:
        env = os.environ
        self.runtime = env["LOCALSTACK_RUNTIME_ENDPOINT"]
        self.id = env["LOCALSTACK_RUNTIME_ID"]
        region = env.get("AWS_REGION", "us-east-1")
        self.spec = FunctionSpec(
            logical=env["AWS_LAMBDA_FUNCTION_NAME"],
            name=env["AWS_LAMBDA_FUNCTION_NAME"],
            handler=env["_HANDLER"],
            timeout=float(env.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "3")),
            memory=int(env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")),
            environment={k: v for k, v in env.items() if not k.startswith(RESERVED)},
            region=region,
            account=env.get("LOCALSTACK_FUNCTION_ACCOUNT_ID", "000000000000"),
        )
        self.code = code
        self.log = Path(os.environ.get("TMPDIR", "/tmp")) / f"localstack-lambda-{self.spec.name}-{self.id}.log"
        self.lock = threading.Lock()
        self.environment: Environment | None = None

    def start(self) -> None:
        self.environment = Environment(self.spec, self.code, self.log, None, extra_env={})
        if self.environment.init_error:
            _post(f"{self.runtime}/status/{self.id}/error", self.environment.init_error)
        else:
            _post(f"{self.runtime}/status/{self.id}/ready", {})

    def invoke(self, request: dict[str, Any]) -> None:
        invoke_id = request["invoke-id"]
        with self.lock:  # one invocation at a time per environment, as in Lambda
            try:
                if self.environment is None or not self.environment.alive():
                    self.environment = Environment(self.spec, self.code, self.log, None, extra_env={})
                result = self.environment.invoke(json.loads(request.get("payload") or "null"))
            except InvocationError as exc:
                _post(
                    f"{self.runtime}/invocations/{invoke_id}/error", {"errorType": exc.kind, "errorMessage": str(exc)}
                )
                return
        _post(f"{self.runtime}/invocations/{invoke_id}/response", result)


def main() -> int:
    port, code = int(sys.argv[1]), Path(sys.argv[2])
    threading.Thread(target=die_with_parent, name="die-with-localstack", daemon=True).start()
    init = Init(code)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()
            if self.path.rstrip("/") == "/invoke":
                threading.Thread(target=init.invoke, args=(json.loads(body),), daemon=True).start()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=init.start, daemon=True).start()
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
