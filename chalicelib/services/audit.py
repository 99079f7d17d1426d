"""The command log's rules (docs/api.md §3.7, 5.14): which tenant a command belongs to, what of
its request is kept (never a secret), and that writing the row never changes the answer."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from chalicelib.domain.rows import Row
from chalicelib.services.ports import Ports

log = logging.getLogger(__name__)

# Keys whose values are secrets, wherever they appear in a request body.
SECRET_KEYS = frozenset(
    {
        "password",
        "imap_password",
        "token",
        "storage_secret_access_key",
        "api_token",
        "private_key",
        "bounce_imap_password",
        "signing_secret",
        "api_key",
    }
)
# A row's payload is at most this many bytes of JSON (see ``bounded``).
PAYLOAD_LIMIT = 16_384
FIELD_LIMIT = 256
_SUMMARY_KEYS = ("id", "tenant_id", "account_id", "batch_code", "priority", "deferred_ts", "from", "to", "subject")
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
    """What the row keeps: the scrubbed body, the scoping query parameters, the path ids;
    bounded (see ``bounded``)."""
    kept: Row = dict(scrub(body)) if isinstance(body, dict) else {}
    kept.update({k: query[k] for k in _QUERY_KEYS if k in query})
    for key, value in params.items():
        kept["id" if key == "account_id" else key] = value
    return bounded(kept)


def _size(value: Any) -> int:
    return len(json.dumps(value, default=str))


def bounded(kept: Row) -> Row:
    """At most PAYLOAD_LIMIT bytes of JSON. A larger add-messages body keeps, per message, the
    fields that identify it (strings cut to FIELD_LIMIT), as many messages as fit, with
    ``summarized`` and ``message_count``: a log of 10 M messages a day holds who sent what
    where, not every body (at 10 M/day whole bodies grew the table ~1.5 TB a month)."""
    if _size(kept) <= PAYLOAD_LIMIT:
        return kept
    rest = {k: v for k, v in kept.items() if k != "messages"}
    messages = kept.get("messages")
    if not isinstance(messages, list) or _size(rest) > PAYLOAD_LIMIT // 2:
        return {"summarized": True, "keys": sorted(kept)[:50]}
    summary: Row = {**rest, "summarized": True, "message_count": len(messages), "messages": []}
    room = PAYLOAD_LIMIT - _size(summary)
    for message in messages:
        item = {k: _cut(message[k]) for k in _SUMMARY_KEYS if isinstance(message, dict) and k in message}
        room -= _size(item) + 2
        if room < 0:
            break
        summary["messages"].append(item)
    return summary


def _cut(value: Any) -> Any:
    if isinstance(value, str):
        return value[:FIELD_LIMIT]
    if isinstance(value, list):
        return [_cut(v) for v in value[:20]]
    return value


def tenant_of(command: str, body: Any, query: Mapping[str, str], params: Mapping[str, str]) -> str | None:
    """The tenant a command acted for: a new tenant's id, the one tenant of a batch of
    messages (none when the batch mixes tenants), else the tenant the request names."""
    data = body if isinstance(body, dict) else {}
    if command == "addTenant":
        return data["id"] if isinstance(data.get("id"), str) else None
    if command == "addMessages":
        items = data.get("messages")
        owners = (
            {m.get("tenant_id") for m in items if isinstance(m, dict) and isinstance(m.get("tenant_id"), str)}
            if isinstance(items, list)
            else set()
        )
        return owners.pop() if len(owners) == 1 else None
    tenant = params.get("tenant_id") or query.get("tenant_id")
    if tenant is None and isinstance(data.get("tenant_id"), str):
        tenant = data["tenant_id"]
    return tenant


def log_command(
    ports: Ports, command: str, status: int, body: Any, query: Mapping[str, str], params: Mapping[str, str]
) -> None:
    """Write the command's row; a failure is logged, never raised: the command is done."""
    try:
        ports.audit.record(
            ports.now(), command, tenant_of(command, body, query, params), payload(body, query, params), status
        )
    except Exception as exc:  # noqa: BLE001 - the command is done: its log row never changes the answer
        log.warning("command log row not written for %s: %s", command, type(exc).__name__)
