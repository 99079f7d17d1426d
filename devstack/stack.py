"""The whole local stack as one object: used by ``make dev`` and by the test fixtures."""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

from chalicelib.config import derive_key
from devstack.aws import LocalStack, MotoServer, aws_env, role_env
from devstack.deployment import Deployer, Deployment
from devstack.maildev import MailDev
from devstack.postgres import PostgresCluster
from devstack.procs import ROOT, Process, StartFailed, wait_until
from devstack.settings import route

SOURCES = ("app.py", "chalicelib", "functions", "infra", ".chalice/config.json", "requirements.txt")


def ensure_package() -> Path:
    """Build the artifact (make package) unless it is newer than every source it comes from."""
    from infra.package import BUILD, package

    template = BUILD / "template.json"
    built = template.stat().st_mtime if template.is_file() and (BUILD / "deployment.zip").is_file() else 0.0
    newest = 0.0
    for source in SOURCES:
        path = ROOT / source
        files = (
            [path]
            if path.is_file()
            else [p for p in path.rglob("*") if p.is_file() and "build" not in p.parts and "__pycache__" not in p.parts]
        )
        newest = max([newest, *(f.stat().st_mtime for f in files)])
    if newest > built:
        package()
    return template


@dataclass
class StackOptions:
    api_port: int = 8000
    aws: str = "localstack"  # localstack | moto | external
    aws_port: int = 4566
    aws_url: str | None = None  # with aws="external"
    database_url: str | None = None  # None: a cluster in ``pg_dir``
    pg_dir: Path = ROOT / ".local" / "pg"
    pg_port: int = 54329
    pg_fast: bool = False
    api_token: str | None = None
    schedule_tick: float = 60.0
    queue_prefix: str = "mailproxy"
    maildev: bool = True
    smtp_port: int = 1025
    web_port: int = 1080
    # One directory per stack (its logs, the unpacked package, the deployment): stacks on one
    # machine never share one.
    log_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="mailproxy-stack-")))
    # Mail Proxy settings (MAILPROXY_* -> value), routed as AWS receives them: tunables as
    # template parameters, secrets as the secrets' values (devstack/settings.py).
    settings: dict[str, str] = field(default_factory=dict)
    # Raw variables for every function environment, beyond the template's (tests only).
    extra_env: dict[str, str] = field(default_factory=dict)
    # The stack's own test servers and mail catcher are on loopback (MAILPROXY_OUTBOUND_ALLOW).
    outbound_allow: str = "127.0.0.0/8,::1/128"
    # make dev prints each step as it starts; tests stay quiet.
    say: Callable[[str], None] = field(default=lambda _: None)


class Stack:
    def __init__(self, options: StackOptions) -> None:
        self.o = options
        self.routed = route(options.settings)
        # Read by the local hosts themselves (the runner's tick, the stack's names).
        if "MAILPROXY_SCHEDULE_TICK" in self.routed.local:
            options.schedule_tick = float(self.routed.local["MAILPROXY_SCHEDULE_TICK"])
        options.queue_prefix = self.routed.parameters.get("QueuePrefix", options.queue_prefix)
        self.token = options.api_token or self.routed.secrets.get("MAILPROXY_API_TOKEN") or secrets.token_urlsafe(24)
        self.pg: PostgresCluster | None = None
        self.endpoint: MotoServer | LocalStack | None = None
        self.aws_url = options.aws_url or os.environ.get("AWS_ENDPOINT_URL", "")
        self.database_url = options.database_url or ""
        self.api: Process | None = None
        self.runner: Process | None = None
        self.maildev: MailDev | None = None
        self.deployment: Deployment | None = None
        self.deployer: Deployer | None = None
        self.deployment_file = self.o.log_dir / "deployment.json"

    # --------------------------------------------------------------- pieces
    def start_database(self) -> None:
        if not self.database_url:
            self.pg = PostgresCluster(self.o.pg_dir, self.o.pg_port).start(fast=self.o.pg_fast)
            self.database_url = self.pg.url

    def start_aws(self) -> None:
        if self.o.aws == "external":
            if not self.aws_url:
                raise RuntimeError("aws=external needs AWS_ENDPOINT_URL")
            return
        cls = LocalStack if self.o.aws == "localstack" else MotoServer
        self.endpoint = cls(self.o.aws_port, log_dir=self.o.log_dir).start()
        self.aws_url = self.endpoint.url

    def function_env(self) -> dict[str, str]:
        """What the functions get beyond the template's variables: the local endpoint (and
        its credentials, standing in for the role's) and the operator's local overrides."""
        env = role_env(self.aws_url)
        env["MAILPROXY_SCHEDULE_TICK"] = str(self.o.schedule_tick)
        env.update(self.routed.local)
        env.update(self.o.extra_env)
        return env

    def host_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAILPROXY_")}
        env.update(aws_env(self.aws_url))
        env.update({"PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"})
        return env

    def deploy(self) -> None:
        """The built template onto the local endpoint and hosts, migrations included."""
        ensure_package()
        self.o.log_dir.mkdir(parents=True, exist_ok=True)
        key = self.routed.secrets.get("MAILPROXY_ENCRYPTION_KEY") or derive_key(self.token)
        region = aws_env(self.aws_url)["AWS_REGION"]
        # The stack's own values first (unsubscribe links point at this stack's API), then
        # the operator's settings, as `make deploy PARAMS=...` would pass them.
        # WorkConcurrency: the pool's pollers, as many as the runner runs dispatch environments
        # (2 cores here; AWS's default is 50).
        parameters = {
            "DatabaseUrl": self.database_url,
            "QueuePrefix": self.o.queue_prefix,
            "MetricsAccess": "public",
            "OutboundAllow": self.o.outbound_allow,
            "PublicUrl": self.api_url,
            "WorkConcurrency": "8",
            **self.routed.parameters,
        }
        deployer = Deployer(
            endpoint=self.aws_url,
            region=region,
            log_dir=self.o.log_dir,
            extra_env=self.function_env(),
            schedule_tick=self.o.schedule_tick,
            stack_name=f"mail-proxy-{self.o.queue_prefix}",
            parameters=parameters,
            secret_values={"AdminTokenSecret": self.token, "EncryptionKeySecret": key},
        )
        self.deployer = deployer
        self.deployment = deployer.deploy()
        self.deployment_file = self.deployment.save(self.o.log_dir / "deployment.json")

    def start_api(self) -> None:
        self.api = Process(
            "api",
            [sys.executable, "-m", "devstack.gateway", str(self.deployment_file), str(self.o.api_port)],
            env=self.host_env(),
            cwd=ROOT,
            log_dir=self.o.log_dir,
        ).start()
        wait_until(self._api_up, 60, "API (API Gateway stand-in)")

    def _api_up(self) -> bool:
        if self.api is not None and not self.api.alive():
            raise StartFailed("API exited:\n" + self.api.tail())
        return requests.get(f"{self.api_url}/health", timeout=5).status_code == 200

    def start_runner(self) -> None:
        self.runner = Process(
            "runner",
            [sys.executable, "-m", "devstack.runner", str(self.deployment_file)],
            env=self.host_env(),
            cwd=ROOT,
            log_dir=self.o.log_dir,
        ).start()
        # Up means ticking: the first tick leaves the scheduler heartbeat /status reports.
        wait_until(self._ticked, 60, "function runner")

    def _ticked(self) -> bool:
        if self.runner is not None and not self.runner.alive():
            raise StartFailed("function runner exited:\n" + self.runner.tail())
        status = requests.get(f"{self.api_url}/status", headers={"X-API-Token": self.token}, timeout=5)
        if status.status_code == 500 and "MAILPROXY_ENCRYPTION_KEY" in status.text:
            # The key does not open this database's secrets: waiting will not change that.
            raise StartFailed(str(status.json()["detail"]))
        return bool(status.json()["components"]["scheduler"]["healthy"])

    def restart_aws(self, down_seconds: float = 0.0) -> None:
        """Restart the stack's own AWS endpoint, which comes back empty. What the template
        declares is restored, as it would still exist in AWS; tenants' queues are not: the
        application must provision them again by itself."""
        assert self.endpoint is not None and self.deployer is not None, "only a stack's own endpoint"
        self.endpoint.stop()
        time.sleep(down_seconds)
        self.endpoint = type(self.endpoint)(self.endpoint.port, log_dir=self.o.log_dir).start()
        self.deployer.provision()

    def restart_database(self, down_seconds: float = 0.0) -> None:
        assert self.pg is not None, "only a stack's own cluster"
        self.pg.stop()
        time.sleep(down_seconds)
        self.pg.start()

    def start_maildev(self) -> None:
        self.maildev = MailDev(self.o.smtp_port, self.o.web_port, log_dir=self.o.log_dir).start()

    # --------------------------------------------------------------- whole
    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.o.api_port}"

    @property
    def maildev_url(self) -> str:
        return f"http://127.0.0.1:{self.o.web_port}"

    def processes(self) -> list[Process]:
        procs = [self.api, self.runner, self.maildev.proc if self.maildev else None]
        return [p for p in procs if p is not None]

    def start(self) -> Stack:
        say = self.o.say
        try:
            say(f"AWS endpoint ({self.o.aws})")
            self.start_aws()
            say("PostgreSQL")
            self.start_database()
            say("deploying the packaged template (queues, functions, routes)")
            self.deploy()
            if self.o.maildev:
                say("MailDev")
                self.start_maildev()
            say("API Gateway stand-in and function runner")
            self.start_api()
            self.start_runner()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for proc in (self.runner, self.api, self.maildev):
            if proc is not None:
                proc.stop()
        if self.endpoint is not None:
            self.endpoint.stop()
        if self.pg is not None:
            self.pg.stop()
