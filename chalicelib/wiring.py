"""Builds the ports once per execution environment, lazily (the composition root)."""

from __future__ import annotations

import threading

from chalicelib.adapters import aws
from chalicelib.adapters.crypto import Cipher
from chalicelib.adapters.database import Database
from chalicelib.adapters.queues import TenantQueues
from chalicelib.adapters.store import Store
from chalicelib.config import Settings, get_settings
from chalicelib.errors import ConfigurationError
from chalicelib.services.ports import Ports

_lock = threading.Lock()
_ports: Ports | None = None


def build_ports(settings: Settings) -> Ports:
    if not settings.database_url:
        raise ConfigurationError("DATABASE_URL is required")
    db = Database(settings.database_url, max_size=settings.db_pool_size)
    queues = TenantQueues(
        aws.client("sqs", settings), settings.queue_prefix, settings.visibility_timeout
    )
    return Ports(settings=settings, store=Store(db), queues=queues,
                 cipher=Cipher(settings.encryption_key))


def get_ports() -> Ports:
    global _ports
    with _lock:
        if _ports is None:
            _ports = build_ports(get_settings())
        return _ports
