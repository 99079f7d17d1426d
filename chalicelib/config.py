"""Settings, read once per execution environment from the environment."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from chalicelib import limits
from chalicelib.domain.booleans import read_bool
from chalicelib.domain.outbound import OutboundPolicy, parse_allow
from chalicelib.errors import ConfigurationError

log = logging.getLogger(__name__)

DEFAULT_RETRY_DELAYS = (60, 300, 900, 3600, 7200)


@dataclass(frozen=True)
class Settings:
    api_token: str | None
    retry_delays: tuple[int, ...]
    max_retries: int
    report_interval: int
    schedule_tick: float
    attachment_timeout: float
    attachment_base_dir: str | None
    encryption_key: str
    database_url: str | None
    aws_endpoint_url: str | None
    aws_region: str
    queue_prefix: str
    visibility_timeout: int
    claim_lease_seconds: int
    db_pool_size: int
    smtp_connect_timeout: float
    smtp_timeout: float
    max_connections_per_account: int
    scheduler_enabled: bool
    # In AWS: secrets come from Secrets Manager (resolved once, at cold start, by wiring),
    # and each new tenant queue gets an event source mapping onto the dispatch function.
    api_token_secret_arn: str | None = None
    encryption_key_secret_arn: str | None = None
    database_secret_arn: str | None = None
    dispatch_function_arn: str | None = None
    tenant_concurrency: int = limits.TENANT_CONCURRENCY
    tenant_batch_size: int = limits.BATCH_SIZE
    tenant_batching_window: int = limits.BATCHING_WINDOW
    # The queue for instance-wide work, owned by the template in AWS (its URL handed over);
    # looked up by name, and created with the template's attributes, elsewhere.
    system_queue_url: str | None = None
    # Where alarms created per tenant send their notifications (the stack's SNS topic).
    alarm_topic_arn: str | None = None
    # With a database created by the stack, its secret holds JSON credentials; the URL is
    # built from them and this host (RDS Proxy's endpoint) and database name.
    database_host: str | None = None
    database_name: str = "mailproxy"
    # Where tenants' data may make us connect besides public addresses.
    outbound: OutboundPolicy = field(default_factory=OutboundPolicy)
    max_body_bytes: int = 5 * 1024 * 1024
    # The API's public URL: one-click unsubscribe links point at it (extension 7.3).
    public_url: str | None = None
    max_list: int = 10_000   # an unpaged GET /messages answers at most this many (7.5)

    @property
    def keys(self) -> list[str]:
        """The encryption keys, newest first (rotation: ``new,old``)."""
        return [k.strip() for k in self.encryption_key.split(",") if k.strip()] or [self.encryption_key]


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be >= {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, minimum: float = 0.0) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from None
    if value <= minimum:
        raise ConfigurationError(f"{name} must be > {minimum}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    value = read_bool(raw)
    if value is not None:
        return value
    raise ConfigurationError(f"{name} must be a boolean, got {raw!r}")


def _delays(env: Mapping[str, str]) -> tuple[int, ...]:
    if "MAILPROXY_RETRY_DELAYS" not in env:
        return DEFAULT_RETRY_DELAYS
    raw = env["MAILPROXY_RETRY_DELAYS"]
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if not parts:
        raise ConfigurationError("MAILPROXY_RETRY_DELAYS must list at least one delay")
    delays = []
    for part in parts:
        try:
            value = int(part)
        except ValueError:
            raise ConfigurationError(
                f"MAILPROXY_RETRY_DELAYS must be comma-separated integers, got {raw!r}"
            ) from None
        if value < 0:
            raise ConfigurationError(f"MAILPROXY_RETRY_DELAYS must not be negative, got {raw!r}")
        delays.append(value)
    return tuple(delays)


def _outbound(env: Mapping[str, str]) -> OutboundPolicy:
    try:
        return parse_allow(env.get("MAILPROXY_OUTBOUND_ALLOW", ""))
    except ValueError as exc:
        raise ConfigurationError(f"MAILPROXY_OUTBOUND_ALLOW: {exc}") from None


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build Settings from an environment mapping; raise ConfigurationError on bad values."""
    token = env.get("MAILPROXY_API_TOKEN") or None
    key = env.get("MAILPROXY_ENCRYPTION_KEY") or ""
    if not key and not env.get("MAILPROXY_ENCRYPTION_KEY_SECRET_ARN"):
        # Derived so that a single-secret local setup still encrypts at rest; production
        # must set its own key, since rotating the admin token would otherwise lose secrets.
        seed = token or "mail-proxy-insecure-default"
        key = hashlib.sha256(("mail-proxy-encryption:" + seed).encode()).hexdigest()
        log.warning("MAILPROXY_ENCRYPTION_KEY is not set; deriving it from the admin token")
    prefix = env.get("MAILPROXY_QUEUE_PREFIX", "mailproxy").strip() or "mailproxy"
    if not all(c.isalnum() or c in "-_" for c in prefix) or len(prefix) > 30:
        raise ConfigurationError("MAILPROXY_QUEUE_PREFIX must be <= 30 of [A-Za-z0-9_-]")
    return Settings(
        api_token=token,
        retry_delays=_delays(env),
        max_retries=_int(env, "MAILPROXY_MAX_RETRIES", 5),
        report_interval=_int(env, "MAILPROXY_REPORT_INTERVAL", 300, minimum=1),
        schedule_tick=_float(env, "MAILPROXY_SCHEDULE_TICK", 60.0),
        attachment_timeout=_float(env, "MAILPROXY_ATTACHMENT_TIMEOUT", 30.0),
        attachment_base_dir=env.get("MAILPROXY_ATTACHMENT_BASE_DIR") or None,
        encryption_key=key,
        database_url=env.get("DATABASE_URL") or None,
        aws_endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
        aws_region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        queue_prefix=prefix,
        visibility_timeout=_int(env, "MAILPROXY_VISIBILITY_TIMEOUT", limits.QUEUE_VISIBILITY_TIMEOUT, minimum=1),
        claim_lease_seconds=_int(env, "MAILPROXY_CLAIM_LEASE", limits.CLAIM_LEASE, minimum=1),
        db_pool_size=_int(env, "MAILPROXY_DB_POOL_SIZE", 4, minimum=1),
        smtp_connect_timeout=_float(env, "MAILPROXY_SMTP_CONNECT_TIMEOUT", 10.0),
        smtp_timeout=_float(env, "MAILPROXY_SMTP_TIMEOUT", 30.0),
        max_connections_per_account=_int(env, "MAILPROXY_SMTP_CONNECTIONS", 3, minimum=1),
        scheduler_enabled=_bool(env, "MAILPROXY_SCHEDULER_ENABLED", True),
        api_token_secret_arn=env.get("MAILPROXY_API_TOKEN_SECRET_ARN") or None,
        encryption_key_secret_arn=env.get("MAILPROXY_ENCRYPTION_KEY_SECRET_ARN") or None,
        database_secret_arn=env.get("MAILPROXY_DATABASE_SECRET_ARN") or None,
        dispatch_function_arn=env.get("MAILPROXY_DISPATCH_FUNCTION_ARN") or None,
        tenant_concurrency=_int(env, "MAILPROXY_TENANT_CONCURRENCY", limits.TENANT_CONCURRENCY, minimum=2),
        tenant_batch_size=_int(env, "MAILPROXY_TENANT_BATCH_SIZE", limits.BATCH_SIZE, minimum=1),
        tenant_batching_window=_int(env, "MAILPROXY_TENANT_BATCHING_WINDOW", limits.BATCHING_WINDOW),
        system_queue_url=env.get("MAILPROXY_SYSTEM_QUEUE_URL") or None,
        alarm_topic_arn=env.get("MAILPROXY_ALARM_TOPIC_ARN") or None,
        database_host=env.get("MAILPROXY_DATABASE_HOST") or None,
        database_name=env.get("MAILPROXY_DATABASE_NAME") or "mailproxy",
        outbound=_outbound(env),
        public_url=(env.get("MAILPROXY_PUBLIC_URL") or "").strip().rstrip("/") or None,
        max_list=_int(env, "MAILPROXY_MAX_LIST", 10_000, minimum=1),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this execution environment, read at first use (cold start)."""
    return load_settings(os.environ)
