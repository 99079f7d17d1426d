"""Settings, read once per execution environment from the environment.

What each variable means, its default and its range are declared in settings_catalog.py;
this module parses them (the same code at every cold start, in AWS and locally)."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from chalicelib import limits
from chalicelib.domain.booleans import read_bool
from chalicelib.domain.outbound import OutboundPolicy, parse_allow
from chalicelib.errors import ConfigurationError
from chalicelib.settings_catalog import DEFAULT_RETRY_DELAYS, SETTINGS, Setting, render

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_RETRY_DELAYS", "Settings", "effective", "get_settings", "load_settings"]


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
    # The pool: one queue (SQS fair queue, the tenant as message group) for every tenant that
    # has no dedicated queue; owned by the template, looked up by name elsewhere.
    work_queue_url: str | None = None
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
    max_list: int = 10_000  # an unpaged GET /messages answers at most this many (7.5)
    outbound_allow: str = ""  # MAILPROXY_OUTBOUND_ALLOW as given (outbound is its parsed form)
    key_derived: bool = False  # no key was set: derived from the admin token (warned where used)

    @property
    def keys(self) -> list[str]:
        """The encryption keys, newest first (rotation: ``new,old``)."""
        return [k.strip() for k in self.encryption_key.split(",") if k.strip()] or [self.encryption_key]


def _number(setting: Setting, raw: str) -> float:
    integer = setting.kind == "int"
    try:
        value: float = int(raw) if integer else float(raw)
    except ValueError:
        raise ConfigurationError(
            f"{setting.env} must be {'an integer' if integer else 'a number'}, got {raw!r}"
        ) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ConfigurationError(f"{setting.env} must be a finite number, got {raw!r}")
    _in_range(setting, value, raw)
    return value


def _in_range(setting: Setting, value: float, raw: str) -> None:
    # Both bounds inclusive, for every kind: the template's MinValue/MaxValue say the same.
    low, high = setting.minimum, setting.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"{_fmt(low)}..{_fmt(high)}" if high is not None else f">= {_fmt(low)}"
        raise ConfigurationError(f"{setting.env} must be {bounds}, got {raw!r}")


def _fmt(value: float | None) -> str:
    return "" if value is None else (str(int(value)) if float(value).is_integer() else str(value))


def _delays(setting: Setting, raw: str) -> tuple[int, ...]:
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if not parts:
        raise ConfigurationError(f"{setting.env} must list at least one delay")
    delays = []
    for part in parts:
        try:
            value = int(part)
        except ValueError:
            raise ConfigurationError(f"{setting.env} must be comma-separated integers, got {raw!r}") from None
        if value < 0:
            raise ConfigurationError(f"{setting.env} must not be negative, got {raw!r}")
        _in_range(setting, value, raw)
        delays.append(value)
    return tuple(delays)


def _parse(setting: Setting, raw: str) -> Any:
    """One variable's value; an empty or unset variable means the default."""
    text = raw.strip()
    if setting.kind == "delays":
        # Set but empty is an error: it would silently mean "the defaults".
        return _delays(setting, raw)
    if not text:
        return setting.default
    if setting.kind in ("int", "float"):
        return _number(setting, text)
    if setting.kind == "bool":
        value = read_bool(text.lower())
        if value is None:
            raise ConfigurationError(f"{setting.env} must be a boolean, got {raw!r}")
        return value
    if setting.kind == "prefix":
        if not all(c.isalnum() or c in "-_" for c in text) or len(text) > 30 or not text.isascii():
            raise ConfigurationError(f"{setting.env} must be <= 30 of [A-Za-z0-9_-], got {raw!r}")
        return text
    if setting.kind == "url":
        return text.rstrip("/") or None
    return raw if setting.kind == "text" else text


def read(env: Mapping[str, str]) -> dict[str, Any]:
    """Every catalogued setting's value from ``env``, by Settings attribute (defaults filled)."""
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.env in env and (env[setting.env].strip() or setting.kind == "delays"):
            values[setting.attribute] = _parse(setting, env[setting.env])
        else:
            values[setting.attribute] = setting.default
    return values


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build Settings from an environment mapping; raise ConfigurationError on bad values."""
    values = read(env)
    allow = env.get("MAILPROXY_OUTBOUND_ALLOW", "")
    try:
        values["outbound"] = parse_allow(allow)
    except ValueError as exc:
        raise ConfigurationError(f"MAILPROXY_OUTBOUND_ALLOW: {exc}") from None
    if not values["encryption_key"] and not values["encryption_key_secret_arn"]:
        # Derived so that a single-secret local setup still encrypts at rest; production
        # must set its own key, since rotating the admin token would otherwise lose secrets.
        values["encryption_key"] = derive_key(values["api_token"])
        values["key_derived"] = True
    values["encryption_key"] = values["encryption_key"] or ""
    return Settings(
        **values,
        outbound_allow=allow.strip(),
        aws_endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
        aws_region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
    )


def derive_key(api_token: str | None) -> str:
    """The encryption key of a deployment that set none: from the admin token (written once:
    the local stack derives the same key for the secret it stores)."""
    seed = api_token or "mail-proxy-insecure-default"
    return hashlib.sha256(("mail-proxy-encryption:" + seed).encode()).hexdigest()


def effective(settings: Settings) -> dict[str, str]:
    """The non-secret settings in force, as their variables would hold them (for /status)."""
    shown: dict[str, str] = {}
    for setting in SETTINGS:
        if setting.secret or setting.where == "wiring":
            continue
        value = settings.outbound_allow if setting.kind == "allow" else getattr(settings, setting.attribute)
        shown[setting.env] = render(setting, value)
    return shown


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this execution environment, read at first use (cold start)."""
    return load_settings(os.environ)
