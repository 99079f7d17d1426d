"""Local Lambda functions: the packaged code, run as Lambda runs it, from the template.

Each function gets execution environments (processes) started from the unpacked
``deployment.zip`` with an isolated interpreter (lambda_runtime/bootstrap.py). An
environment serves one invocation at a time and is reused while warm; more invocations at
once start more environments, up to a cap. The function's Timeout is enforced as Lambda
does (the environment is killed and the invocation fails with ``Function.Timeout``), and so
is its MemorySize (killed when its resident memory exceeds it). Its environment variables
are the template's, resolved, plus the local endpoint's; its AWS calls are held to its role.
"""

from __future__ import annotations

import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.procs import rss_mb

log = logging.getLogger("mailproxy.functions")

BOOTSTRAP = Path(__file__).resolve().parent / "lambda_runtime" / "bootstrap.py"
INIT_TIMEOUT = 10.0  # s: Lambda's limit on a function's init phase


@dataclass(frozen=True)
class FunctionSpec:
    logical: str
    name: str
    handler: str
    timeout: float
    memory: int
    environment: dict[str, str]
    policy: list[dict[str, Any]] = field(default_factory=list)
    region: str = "us-east-1"
    account: str = "000000000000"

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{self.name}"


class InvocationError(Exception):
    """The invocation failed: the handler raised, or Lambda ended it (timeout, memory)."""

    def __init__(self, kind: str, message: str, fatal: bool = False) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.fatal = fatal  # the environment is gone and must not be reused


def unpack(archive: Path, into: Path) -> Path:
    """The task root (/var/task) of a package, unpacked once per archive content."""
    marker = into / ".unpacked"
    stamp = f"{archive.stat().st_size}:{archive.stat().st_mtime_ns}"
    if marker.is_file() and marker.read_text() == stamp:
        return into
    into.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(into)
    marker.write_text(stamp)
    return into


class Environment:
    """One execution environment: a process holding the function's imported handler."""

    def __init__(
        self, spec: FunctionSpec, task_root: Path, log_path: Path, call_log: Path | None, extra_env: dict[str, str]
    ) -> None:
        self.spec = spec
        read_fd, write_fd = os.pipe()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
            "AWS_REGION": spec.region,
            "AWS_DEFAULT_REGION": spec.region,
            "LAMBDA_TASK_ROOT": str(task_root),
            # The template's variables, then the local stack's own (the endpoint, and the
            # operator's overrides such as a short claim lease in a fault test).
            **spec.environment,
            **extra_env,
        }
        if spec.policy:
            policy_file = log_path.parent / f"{spec.name}.policy.json"
            # Replaced whole, never truncated in place: environments of a function start at
            # once, and one reading the file while another rewrote it read nothing (a failed
            # cold start, 502 from the gateway).
            partial = policy_file.with_name(f".{policy_file.name}.{uuid.uuid4().hex}")
            partial.write_text(json.dumps(spec.policy))
            os.replace(partial, policy_file)
            env["_LOCAL_LAMBDA_ROLE_POLICY"] = str(policy_file)
            env["_LOCAL_LAMBDA_ACCOUNT"] = spec.account
            if call_log is not None:
                env["_LOCAL_LAMBDA_CALL_LOG"] = str(call_log)
        with open(log_path, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-u", str(BOOTSTRAP), str(task_root), spec.handler, str(write_fd)],
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=subprocess.STDOUT,
                pass_fds=(write_fd,),
                env=env,
                cwd=task_root,
            )
        os.close(write_fd)
        self._answers = read_fd
        self._buffer = b""
        ready = self._read(time.monotonic() + INIT_TIMEOUT, "init")
        self.init_error = ready.get("init_error")
        self.init_seconds = float(ready.get("init_seconds", 0))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
        self.proc.wait(timeout=5)
        try:
            os.close(self._answers)
        except OSError:
            pass

    def _read(self, deadline: float, what: str) -> dict[str, Any]:
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                kind = "Function.Timeout" if what == "invoke" else "Runtime.InitTimeout"
                raise InvocationError(kind, f"{self.spec.name} timed out after {self.spec.timeout:.0f}s", fatal=True)
            ready, _, _ = select.select([self._answers], [], [], min(left, 0.05))
            if rss_mb(self.proc.pid) > self.spec.memory:
                self.kill()
                raise InvocationError(
                    "Runtime.OutOfMemory", f"{self.spec.name} used more than {self.spec.memory} MB", fatal=True
                )
            if ready:
                chunk = os.read(self._answers, 1 << 20)
                if not chunk:
                    self.kill()
                    raise InvocationError("Runtime.ExitError", f"{self.spec.name} exited ({what})", fatal=True)
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        answer: dict[str, Any] = json.loads(line)
        return answer

    def invoke(self, event: Any) -> Any:
        started_ms = int(time.time() * 1000)
        request = {
            "event": event,
            "context": {
                "function_name": self.spec.name,
                "invoked_function_arn": self.spec.arn,
                "memory_limit_in_mb": self.spec.memory,
                "aws_request_id": str(uuid.uuid4()),
                "deadline_ms": started_ms + int(self.spec.timeout * 1000),
            },
        }
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write((json.dumps(request) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self.kill()
            raise InvocationError("Runtime.ExitError", f"{self.spec.name} is not running", fatal=True) from None
        answer = self._read(time.monotonic() + self.spec.timeout, "invoke")
        if "error" in answer:
            error = answer["error"] or {}
            raise InvocationError(
                str(error.get("errorType")), str(error.get("errorMessage")), fatal=self.init_error is not None
            )
        return answer.get("result")


class FunctionHost:
    """All environments of one function; ``invoke`` is Lambda's synchronous invoke."""

    def __init__(
        self,
        spec: FunctionSpec,
        task_root: Path,
        log_dir: Path,
        *,
        max_environments: int = 4,
        extra_env: dict[str, str] | None = None,
        call_log: Path | None = None,
    ) -> None:
        self.spec = spec
        self.task_root = task_root
        self.log_path = log_dir / f"function-{spec.name}.log"
        self.call_log = call_log
        self.extra_env = extra_env or {}
        self.max_environments = max_environments
        self._idle: list[Environment] = []
        self._count = 0
        self._cond = threading.Condition()
        # Invocations waiting for an environment are served in arrival order: a notified
        # waiter is whichever thread the scheduler picks, and under load some pollers' records
        # waited behind newer ones time after time (the tail of bench.tenants' latencies).
        self._line: deque[object] = deque()
        self.cold_starts = 0

    def _acquire(self) -> Environment:
        with self._cond:
            ticket = object()
            self._line.append(ticket)
            try:
                while True:
                    if self._line[0] is ticket:
                        while self._idle:
                            env = self._idle.pop()
                            if env.alive():
                                return env
                            self._count -= 1
                        if self._count < self.max_environments:
                            self._count += 1
                            break
                    self._cond.wait()
            finally:
                self._line.remove(ticket)  # the next in line goes, whether this one got one or not
                self._cond.notify_all()
        try:
            env = Environment(self.spec, self.task_root, self.log_path, self.call_log, self.extra_env)
            self.cold_starts += 1
            return env
        except BaseException:
            with self._cond:
                self._count -= 1
                self._cond.notify_all()
            raise

    def _release(self, env: Environment, keep: bool) -> None:
        with self._cond:
            if keep and env.alive():
                self._idle.append(env)
            else:
                self._count -= 1
            self._cond.notify_all()

    def invoke(self, event: Any) -> Any:
        env = self._acquire()
        keep = True
        try:
            return env.invoke(event)
        except InvocationError as exc:
            keep = not exc.fatal
            log.warning("%s invocation failed: %s", self.spec.name, exc)
            raise
        finally:
            self._release(env, keep)

    def stop(self) -> None:
        with self._cond:
            idle, self._idle = self._idle, []
        for env in idle:
            env.kill()
