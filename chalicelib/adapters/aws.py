"""boto3 clients, created once per execution environment and only when first needed.

Every client takes its endpoint from AWS_ENDPOINT_URL (through Settings), so the same
code talks to AWS, LocalStack or moto server; nothing branches on "local". A tenant's
own S3-compatible store gets a client of its own, cached the same way.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.config import Settings
from chalicelib.domain.targets import StorageTarget
from chalicelib.errors import SecretsError

_lock = threading.Lock()
_clients: dict[tuple[Any, ...], Any] = {}
_RETRIES = {"max_attempts": 3, "mode": "standard"}


def _cached(key: tuple[Any, ...], make: Any) -> Any:
    # boto3's default session is not thread-safe to create clients from; a session of our
    # own per client, made under a lock, is. Clients themselves are thread-safe.
    with _lock:
        if key not in _clients:
            _clients[key] = make()
        return _clients[key]


def client(service: str, settings: Settings) -> Any:
    """A client of our own AWS account (the function's role), at the configured endpoint."""
    def make() -> Any:
        return boto3.session.Session(region_name=settings.aws_region).client(
            service, endpoint_url=settings.aws_endpoint_url,
            config=Config(retries=_RETRIES, connect_timeout=5, read_timeout=30, max_pool_connections=32))

    return _cached((service, settings.aws_endpoint_url, settings.aws_region), make)


def s3_client(target: StorageTarget) -> Any:
    """A client of a tenant's S3-compatible store, with the tenant's own credentials."""
    def make() -> Any:
        session = boto3.session.Session(
            aws_access_key_id=target.access_key_id, aws_secret_access_key=target.secret_access_key,
            region_name=target.region)
        # Custom endpoints (MinIO, LocalStack) want path-style addressing.
        style = "path" if target.endpoint_url else "auto"
        return session.client("s3", endpoint_url=target.endpoint_url,
                              config=Config(s3={"addressing_style": style}, signature_version="s3v4",
                                            retries=_RETRIES))

    return _cached(("s3-target", target), make)


def secret_string(settings: Settings, arn: str) -> str:
    """One secret's value; unreachable or refused is an infrastructure failure (503)."""
    try:
        return str(client("secretsmanager", settings).get_secret_value(SecretId=arn)["SecretString"])
    except (BotoCoreError, ClientError) as exc:
        # The ARN is configuration, not a secret; the error text carries no value.
        raise SecretsError(f"cannot read secret {arn}: {type(exc).__name__}") from exc
