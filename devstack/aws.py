"""AWS-compatible endpoints on 127.0.0.1: moto server, or LocalStack in host mode."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import requests

from devstack.procs import ROOT, Process, StartFailed, wait_until

LOCALSTACK_VENV = ROOT / ".venv-localstack"


class MotoServer:
    kind = "moto"

    def __init__(self, port: int, log_dir: Path | None = None) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.proc = Process(
            "moto",
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            env=dict(os.environ),
            log_dir=log_dir,
        )

    def start(self) -> MotoServer:
        self.proc.start()
        wait_until(self.healthy, 60, "moto server")
        return self

    def healthy(self) -> bool:
        return requests.get(f"{self.url}/moto-api/", timeout=2).status_code == 200

    def stop(self) -> None:
        self.proc.stop()


class LocalStack:
    """LocalStack from its own virtualenv (make installs it), services we use only."""

    kind = "localstack"

    def __init__(self, port: int, log_dir: Path | None = None) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        python = LOCALSTACK_VENV / "bin" / "python"
        if not python.exists():
            raise FileNotFoundError(f"{python} missing: run 'make deps' (it installs LocalStack there)")
        # Its own working directory: our localstack/ folder must never shadow the package.
        self.workdir = Path(tempfile.mkdtemp(prefix="mailproxy-localstack-"))
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))},
            "GATEWAY_LISTEN": f"127.0.0.1:{port}",
            "LOCALSTACK_HOST": f"127.0.0.1:{port}",
            "SERVICES": "sqs,s3,sns,events,lambda,iam,sts,logs,secretsmanager,cloudformation,cloudwatch,apigateway",
            "DNS_ADDRESS": "0",
            "SKIP_SSL_CERT_DOWNLOAD": "1",
            "DISABLE_EVENTS": "1",
            "PERSISTENCE": "0",
            "SQS_ENDPOINT_STRATEGY": "path",
            # LocalStack publishes CloudWatch metrics for every SQS call by calling its own
            # CloudWatch over HTTP: half the cost of each SendMessage here (8 -> 4 ms p50, p95
            # 15 -> 5 ms), where AWS publishes them out of band. Nothing local reads them.
            "SQS_DISABLE_CLOUDWATCH_METRICS": "1",
            "FILESYSTEM_ROOT": str(self.workdir / "fs"),
            # Lambda functions run as local processes (localstack/lambda_executor): LocalStack's
            # own executor needs Docker, its init binary and runtime images, none of them here.
            "LAMBDA_RUNTIME_EXECUTOR": "mailproxy",
            "MAILPROXY_LAMBDA_INIT": str(ROOT / "devstack" / "lambda_runtime" / "localstack_init.py"),
            # The v2 CloudFormation engine of 4.13 resolves the properties of resources whose
            # condition is false (our optional database) and fails; the legacy engine does not.
            "PROVIDER_OVERRIDE_CLOUDFORMATION": "engine-legacy",
        }
        self.proc = Process(
            "localstack", [str(python), "-m", "localstack.runtime.main"], env=env, cwd=self.workdir, log_dir=log_dir
        )

    def start(self) -> LocalStack:
        self.proc.start()
        wait_until(self.healthy, 120, "LocalStack")
        return self

    def healthy(self) -> bool:
        if not self.proc.alive():
            raise StartFailed("LocalStack exited:\n" + self.proc.tail())
        body = requests.get(f"{self.url}/_localstack/health", timeout=2).json()
        return body.get("services", {}).get("sqs") in {"available", "running"}

    def stop(self) -> None:
        self.proc.stop()


def aws_env(endpoint_url: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        "AWS_REGION": os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1")),
    }


# The functions' role, locally: credentials of its own, as a Lambda role's session keys are
# its own in AWS. Then a tenant that names its own store with the emulator's usual test/test
# keys is never taken for the role (devstack/lambda_runtime/bootstrap.py judges only the
# role's calls). Twelve digits: LocalStack reads them as the default account, as it reads
# "test"; moto takes any key as its default account.
ROLE_ACCESS_KEY_ID = "000000000000"
ROLE_SECRET_ACCESS_KEY = "mail-proxy-local-role"


def role_env(endpoint_url: str) -> dict[str, str]:
    """What a function environment gets: the endpoint, and the role's own credentials unless
    the operator gave real ones (an external endpoint that checks them)."""
    env = aws_env(endpoint_url)
    if os.environ.get("AWS_ACCESS_KEY_ID", "test") == "test":
        env["AWS_ACCESS_KEY_ID"] = ROLE_ACCESS_KEY_ID
        env["AWS_SECRET_ACCESS_KEY"] = ROLE_SECRET_ACCESS_KEY
    return env
