"""Builds the ports once per execution environment, lazily (the composition root)."""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

from chalicelib.adapters import aws, lazy
from chalicelib.adapters.crypto import Cipher
from chalicelib.adapters.database import Database
from chalicelib.adapters.queues import EventSourceMappings, TenantQueues
from chalicelib.adapters.repositories.accounts import AccountRepository
from chalicelib.adapters.repositories.audit import AuditRepository
from chalicelib.adapters.repositories.bounces import BounceRepository
from chalicelib.adapters.repositories.dispatch import DispatchRepository
from chalicelib.adapters.repositories.feedback import FeedbackRepository
from chalicelib.adapters.repositories.holds import HoldRepository
from chalicelib.adapters.repositories.instance import InstanceRepository
from chalicelib.adapters.repositories.messages import MessageRepository
from chalicelib.adapters.repositories.metrics import MetricRepository
from chalicelib.adapters.repositories.rates import RateRepository
from chalicelib.adapters.repositories.reports import ReportRepository
from chalicelib.adapters.repositories.retention import RetentionRepository
from chalicelib.adapters.repositories.suppressions import SuppressionRepository
from chalicelib.adapters.repositories.tenants import KeyRepository, TenantRepository
from chalicelib.adapters.storage import S3Storage
from chalicelib.config import Settings, get_settings
from chalicelib.errors import ConfigurationError
from chalicelib.services.ports import Ports

log = logging.getLogger(__name__)

_lock = threading.Lock()
_ports: Ports | None = None


def resolve_secrets(settings: Settings) -> Settings:
    """Fill the settings that Secrets Manager holds (in AWS); unchanged elsewhere."""
    arns = {
        "api_token": settings.api_token_secret_arn,
        "encryption_key": settings.encryption_key_secret_arn,
        "database_url": settings.database_secret_arn,
    }
    wanted = {field: arn for field, arn in arns.items() if arn and not getattr(settings, field)}
    if not wanted:
        return settings
    values: dict[str, Any] = {field: aws.secret_string(settings, arn) for field, arn in wanted.items()}
    if "database_url" in values:
        values["database_url"] = database_url(values["database_url"], settings.database_host, settings.database_name)
    return dataclasses.replace(settings, **values)


def database_url(secret: str, host: str | None, dbname: str) -> str:
    """The secret is a URL (a database given to the stack) or RDS's JSON credentials (a
    database the stack made): those are reached through RDS Proxy's endpoint, over TLS."""
    secret = secret.strip()
    if not secret.startswith("{"):
        return secret
    try:
        creds = json.loads(secret)
        user, password = creds["username"], creds["password"]
    except (ValueError, KeyError, TypeError):
        raise ConfigurationError("the database secret is neither a URL nor RDS credentials") from None
    target = host or creds.get("host")
    if not target:
        raise ConfigurationError("the database secret names no host and MAILPROXY_DATABASE_HOST is unset")
    port = creds.get("port") or 5432
    return (
        f"postgresql://{quote(str(user), safe='')}:{quote(str(password), safe='')}@{target}:{port}/"
        f"{quote(dbname, safe='')}?sslmode=require"
    )


def build_ports(settings: Settings, **overrides: Any) -> Ports:
    """Every adapter, built once. ``overrides`` replaces any port by name (a fake that
    implements its protocol, a settable clock): the public seam for tests."""
    settings = resolve_secrets(settings)
    if not settings.database_url:
        raise ConfigurationError("DATABASE_URL is required")
    db = Database(settings.database_url, max_size=settings.db_pool_size)
    queues = TenantQueues(
        aws.client("sqs", settings),
        settings.queue_prefix,
        settings.visibility_timeout,
        mappings=EventSourceMappings(
            aws.client("lambda", settings),
            settings.dispatch_function_arn,
            settings.tenant_concurrency,
            aws.client("cloudwatch", settings),
            batch_size=settings.tenant_batch_size,
            batching_window=settings.tenant_batching_window,
            alarm_topic_arn=settings.alarm_topic_arn,
        )
        if settings.dispatch_function_arn
        else None,
        system_queue_url=settings.system_queue_url,
        work_queue_url=settings.work_queue_url,
    )
    # Built field by field so that mypy checks every adapter against its protocol.
    ports = Ports(
        settings=settings,
        tenants=TenantRepository(db),
        keys=KeyRepository(db),
        accounts=AccountRepository(db),
        messages=MessageRepository(db),
        dispatch=DispatchRepository(db),
        rates=RateRepository(db),
        reports=ReportRepository(db),
        retention=RetentionRepository(db),
        holds=HoldRepository(db),
        instance=InstanceRepository(db),
        bounces=BounceRepository(db),
        audit=AuditRepository(db),
        metrics=MetricRepository(db),
        suppressions=SuppressionRepository(db),
        feedback=FeedbackRepository(db),
        database=db,
        queues=queues,
        cipher=_cipher(settings),
        smtp=lazy.smtp(settings),
        http=lazy.Http(settings.outbound),
        storage=S3Storage(),
        mailboxes=lazy.mailboxes(),
    )
    return dataclasses.replace(ports, **overrides) if overrides else ports


def get_ports() -> Ports:
    global _ports
    with _lock:
        if _ports is None:
            _ports = build_ports(get_settings())
        return _ports


@contextmanager
def ports_in_use(ports: Ports) -> Iterator[Ports]:
    """Make the handlers of this execution environment use ``ports`` (built with
    ``build_ports``, fakes or not) for the duration: the public seam for handler tests."""
    global _ports
    with _lock:
        previous, _ports = _ports, ports
    try:
        yield ports
    finally:
        with _lock:
            _ports = previous


def _cipher(settings: Settings) -> Cipher:
    if settings.key_derived:
        # Said where secrets are sealed or opened, not by functions that never touch one.
        log.warning(
            "MAILPROXY_ENCRYPTION_KEY is not set: secrets at rest use a key derived from the admin "
            "token, so changing the token makes them unreadable; set MAILPROXY_ENCRYPTION_KEY"
        )
    return Cipher(settings.encryption_key)
