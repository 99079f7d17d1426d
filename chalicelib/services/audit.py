"""The command log's rules (docs/api.md §3.7, 5.14): which tenant a command belongs to, what of
its request is kept (never a secret), and that writing the row never changes the answer."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from chalicelib.domain.records import Row
from chalicelib.services.ports import Ports

log = logging.getLogger(__name__)

# Keys whose values are secrets, wherever they appear in a request body.
SECRET_KEYS = frozenset({"password", "imap_password", "token", "storage_secret_access_key", "api_token", "private_key",
                         "bounce_imap_password", "signing_secret", "api_key"})
# Query parameters a command's row keeps.
_QUERY_KEYS = ("tenant_id", "batch_code")


def scrub(value: Any) -> Any:
    """The value with every secret key removed, at any depth."""
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items() if k not in SECRET_KEYS}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def payload(body: Any, query: Mapping[str, str], params: Mapping[str, str]) -> Row:
    """What the row keeps: the scrubbed body, the scoping query parameters, the path ids."""
    kept: Row = dict(scrub(body)) if isinstance(body, dict) else {}
    kept.update({k: query[k] for k in _QUERY_KEYS if k in query})
    for key, value in params.items():
        kept["id" if key == "account_id" else key] = value
    return kept


def tenant_of(command: str, body: Any, query: Mapping[str, str], params: Mapping[str, str]) -> str | None:
    """The tenant a command acted for: a new tenant's id, the one tenant of a batch of
    messages (none when the batch mixes tenants), else the tenant the request names."""
    data = body if isinstance(body, dict) else {}
    if command == "addTenant":
        return data["id"] if isinstance(data.get("id"), str) else None
    if command == "addMessages":
        items = data.get("messages")
        owners = {m.get("tenant_id") for m in items if isinstance(m, dict) and isinstance(m.get("tenant_id"), str)} \
            if isinstance(items, list) else set()
        return owners.pop() if len(owners) == 1 else None
    tenant = params.get("tenant_id") or query.get("tenant_id")
    if tenant is None and isinstance(data.get("tenant_id"), str):
        tenant = data["tenant_id"]
    return tenant


def record(ports: Ports, command: str, status: int, body: Any, query: Mapping[str, str],
           params: Mapping[str, str]) -> None:
    """Write the command's row; a failure is logged, never raised: the command is done."""
    try:
        ports.audit.record(ports.now(), command, tenant_of(command, body, query, params),
                           payload(body, query, params), status)
    except Exception as exc:  # noqa: BLE001 - the command is done: its log row never changes the answer
        log.warning("command log row not written for %s: %s", command, type(exc).__name__)
