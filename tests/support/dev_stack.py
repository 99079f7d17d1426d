"""``make dev``'s own stack started as a user starts it (python -m devstack.dev), and
stopped as Ctrl-C stops it (e2e tier)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.maildev import MailDevClient
from devstack.procs import ROOT, StartFailed, free_port, port_open, wait_until


@dataclass
class DevStack:
    proc: subprocess.Popen[bytes]
    log: Path
    api_url: str
    token: str
    aws_url: str
    database_url: str
    maildev_url: str
    smtp_port: int
    ports: list[int]
    startup_seconds: float

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_dev(
    tmp: Path,
    aws: str = "localstack",
    under_shell: bool = False,
    settings: dict[str, str] | None = None,
    token: str | None = "e2e-admin-token",
) -> DevStack:
    """make dev's stack on free ports; ``under_shell`` runs it as the child of a shell (as make
    runs it), so that a test can kill the parent; ``settings`` are exported to it as an
    operator would (``MAILPROXY_MAX_LIST=40 make dev``); ``token`` None starts it as a newcomer
    does, with no admin token set (make dev generates one and keeps it with the database)."""
    api, aws_port, pg_port, smtp, web = (free_port() for _ in range(5))
    env = {k: v for k, v in os.environ.items() if k not in {"AWS_ENDPOINT_URL", "DATABASE_URL"}}
    env.update(
        {
            "MAILPROXY_PORT": str(api),
            "MAILPROXY_AWS_PORT": str(aws_port),
            "MAILPROXY_PG_PORT": str(pg_port),
            "MAILPROXY_PG_DIR": str(tmp / "pg"),
            "MAILDEV_SMTP_PORT": str(smtp),
            "MAILDEV_WEB_PORT": str(web),
            "MAILPROXY_SCHEDULE_TICK": "1",
            "MAILPROXY_AWS": aws,
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(settings or {})
    if token is not None:
        env["MAILPROXY_API_TOKEN"] = token
    else:
        env.pop("MAILPROXY_API_TOKEN", None)
    log = tmp / "dev.log"
    started = time.monotonic()
    with open(log, "wb") as out:
        argv = [sys.executable, "-m", "devstack.dev"]
        if under_shell:  # "; true": the shell stays the parent instead of exec'ing python
            argv = ["sh", "-c", f"{sys.executable} -m devstack.dev; true"]
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def up() -> bool:
        if proc.poll() is not None:
            raise StartFailed("make dev exited:\n" + log.read_text(errors="replace"))
        return "local stack is up" in log.read_text(errors="replace")

    wait_until(up, 120, "make dev stack", interval=0.2)
    shown = next(line.split()[2] for line in log.read_text().splitlines() if line.strip().startswith("admin token"))
    return DevStack(
        proc,
        log,
        f"http://127.0.0.1:{api}",
        shown,
        f"http://127.0.0.1:{aws_port}",
        f"postgresql://mailproxy@127.0.0.1:{pg_port}/mailproxy",
        f"http://127.0.0.1:{web}",
        smtp,
        [api, aws_port, pg_port, smtp, web],
        time.monotonic() - started,
    )


def stop_dev(stack: DevStack) -> None:
    if stack.proc.poll() is None:
        os.killpg(stack.proc.pid, signal.SIGINT)  # what Ctrl-C sends
        stack.proc.wait(timeout=60)


@dataclass
class Catcher:
    smtp_port: int
    api: MailDevClient


def ports_closed(ports: list[int]) -> bool:
    return not any(port_open(p) for p in ports)


def local_stack_options(pg: Any, moto_url: str, name: str, log_dir: Path, **over: Any) -> Any:
    """A stack of the integration tier: the packaged template on moto server and a database
    of its own in the shared cluster, no MailDev, queues named apart by ``name``."""
    from devstack.stack import StackOptions

    settings: dict[str, Any] = {
        "api_port": free_port(),
        "aws": "external",
        "aws_url": moto_url,
        "database_url": pg.create_database(name),
        "maildev": False,
        "queue_prefix": f"{name[:2]}{os.getpid()}",
        "log_dir": log_dir,
        **over,
    }
    return StackOptions(**settings)
