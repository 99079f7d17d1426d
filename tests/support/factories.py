"""Payload factories: valid by default, every field overridable."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

_seq = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_seq)}-{uuid.uuid4().hex[:8]}"


def tenant_payload(**over: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"id": unique("tenant"), "name": "Test Tenant"}
    payload.update(over)
    return payload


def account_payload(tenant_id: str, port: int, /, **over: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": unique("acct"),
        "tenant_id": tenant_id,
        "host": "127.0.0.1",
        "port": port,
        "use_tls": False,
    }
    payload.update(over)
    return payload


def message_payload(tenant_id: str, account_id: str, /, **over: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": unique("msg"),
        "tenant_id": tenant_id,
        "account_id": account_id,
        "from": "Sender <sender@example.com>",
        "to": ["rcpt@example.com"],
        "subject": "Hello",
        "body": "Hello from Mail Proxy",
    }
    payload.update(over)
    return payload
