"""boto3 clients, created once per execution environment and only when first needed.

Every client takes its endpoint from AWS_ENDPOINT_URL (through Settings), so the same
code talks to AWS, LocalStack or moto server; nothing branches on "local".
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.config import Settings
from chalicelib.errors import SecretsError

_lock = threading.Lock()
_clients: dict[tuple[str, str | None, str], Any] = {}


def client(service: str, settings: Settings) -> Any:
    key = (service, settings.aws_endpoint_url, settings.aws_region)
    with _lock:
        if key not in _clients:
            # boto3's default session is not thread-safe to create clients from; a
            # session of our own, under a lock, is.
            session = boto3.session.Session(region_name=settings.aws_region)
            _clients[key] = session.client(
                service,
                endpoint_url=settings.aws_endpoint_url,
                config=Config(retries={"max_attempts": 3, "mode": "standard"},
                              connect_timeout=5, read_timeout=30, max_pool_connections=32),
            )
        return _clients[key]


def secret_string(settings: Settings, arn: str) -> str:
    """One secret's value; unreachable or refused is an infrastructure failure (503)."""
    try:
        return str(client("secretsmanager", settings).get_secret_value(SecretId=arn)["SecretString"])
    except (BotoCoreError, ClientError) as exc:
        # The ARN is configuration, not a secret; the error text carries no value.
        raise SecretsError(f"cannot read secret {arn}: {type(exc).__name__}") from exc
