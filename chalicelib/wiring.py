"""Builds the ports once per execution environment, lazily (the composition root)."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

from chalicelib.adapters import aws
from chalicelib.adapters.crypto import Cipher
from chalicelib.adapters.database import Database
from chalicelib.adapters.queues import EventSourceMappings, TenantQueues
from chalicelib.adapters.store import Store
from chalicelib.config import Settings, get_settings
from chalicelib.errors import ConfigurationError
from chalicelib.services.ports import Ports

_lock = threading.Lock()
_ports: Ports | None = None


def resolve_secrets(settings: Settings) -> Settings:
    """Fill the settings that Secrets Manager holds (in AWS); unchanged elsewhere."""
    arns = {"api_token": settings.api_token_secret_arn, "encryption_key": settings.encryption_key_secret_arn,
            "database_url": settings.database_secret_arn}
    wanted = {field: arn for field, arn in arns.items() if arn and not getattr(settings, field)}
    if not wanted:
        return settings
    client = aws.client("secretsmanager", settings)
    values: dict[str, Any] = {
        field: str(client.get_secret_value(SecretId=arn)["SecretString"]) for field, arn in wanted.items()}
    return dataclasses.replace(settings, **values)


def build_ports(settings: Settings) -> Ports:
    settings = resolve_secrets(settings)
    if not settings.database_url:
        raise ConfigurationError("DATABASE_URL is required")
    db = Database(settings.database_url, max_size=settings.db_pool_size)
    queues = TenantQueues(
        aws.client("sqs", settings), settings.queue_prefix, settings.visibility_timeout,
        mappings=EventSourceMappings(aws.client("lambda", settings), settings.dispatch_function_arn,
                                     settings.tenant_concurrency, aws.client("cloudwatch", settings))
        if settings.dispatch_function_arn else None,
    )
    return Ports(settings=settings, store=Store(db), queues=queues,
                 cipher=Cipher(settings.encryption_key))


def get_ports() -> Ports:
    global _ports
    with _lock:
        if _ports is None:
            _ports = build_ports(get_settings())
        return _ports
