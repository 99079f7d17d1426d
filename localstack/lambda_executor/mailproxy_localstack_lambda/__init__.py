"""A LocalStack Lambda runtime executor that needs no Docker: ``LAMBDA_RUNTIME_EXECUTOR=mailproxy``.

LocalStack runs a function by starting an execution environment (normally a container with
its init binary and a runtime image, neither of which can be fetched here), posting
invocations to it and waiting for the answer on its own callback endpoint. This executor
starts the environment as a local process instead: ``devstack/lambda_runtime/localstack_init.py``,
which speaks the same protocol and runs the handler from the function's unzipped code in an
isolated interpreter (the same runtime the local stack uses). Loaded inside LocalStack.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from plux import Plugin

# localstack/lambda_executor/mailproxy_localstack_lambda/__init__.py -> devstack/lambda_runtime
INIT = Path(
    os.environ.get(
        "MAILPROXY_LAMBDA_INIT", Path(__file__).resolve().parents[2] / "lambda_runtime" / "localstack_init.py"
    )
)


class ProcessRuntimeExecutorPlugin(Plugin):
    namespace = "localstack.lambda.runtime_executor"
    name = "mailproxy"

    def load(self, *args: Any, **kwargs: Any) -> Any:
        return _executor_class()


# The class is defined inside (LocalStack exists only in its own virtualenv, when loaded);
# mccabe counts its methods' branches as the factory's.
def _executor_class() -> Any:  # noqa: C901
    from localstack.services.lambda_.invocation.executor_endpoint import ExecutorEndpoint
    from localstack.services.lambda_.invocation.runtime_executor import RuntimeExecutor
    from localstack.utils.net import get_free_tcp_port

    from localstack import config

    class ProcessRuntimeExecutor(RuntimeExecutor):  # type: ignore[misc]
        def __init__(self, id: str, function_version: Any) -> None:
            super().__init__(id=id, function_version=function_version)
            self.executor_endpoint = ExecutorEndpoint(self.id)
            self.process: subprocess.Popen[bytes] | None = None

        def start(self, env_vars: dict[str, str]) -> None:
            self.executor_endpoint.start()
            port = get_free_tcp_port()
            self.executor_endpoint.container_address = "127.0.0.1"
            self.executor_endpoint.container_port = port
            code = str(self.function_version.config.code.get_unzipped_code_location())
            env = {k: str(v) for k, v in env_vars.items()}
            env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-S", "-u", str(INIT), str(port), code], env=env, stdin=subprocess.DEVNULL
            )
            self.executor_endpoint.wait_for_startup()

        def stop(self) -> None:
            if self.process is not None and self.process.poll() is None:
                self.process.kill()
                self.process.wait(timeout=5)
            self.executor_endpoint.shutdown()

        def get_address(self) -> str:
            return "127.0.0.1"

        def get_endpoint_from_executor(self) -> str:
            return "127.0.0.1"

        def get_runtime_endpoint(self) -> str:
            return f"http://127.0.0.1:{config.GATEWAY_LISTEN[0].port}{self.executor_endpoint.get_endpoint_prefix()}"

        def invoke(self, payload: dict[str, str]) -> Any:
            return self.executor_endpoint.invoke(payload)

        def get_logs(self) -> str:
            return ""

        @classmethod
        def prepare_version(cls, function_version: Any) -> None:
            if function_version.config.code:
                function_version.config.code.prepare_for_execution()

        @classmethod
        def cleanup_version(cls, function_version: Any) -> None:
            pass

        @classmethod
        def validate_environment(cls) -> bool:
            return True

    return ProcessRuntimeExecutor
