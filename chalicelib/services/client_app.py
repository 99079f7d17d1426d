"""Calls to a tenant's own application (reports, endpoint attachments): its URL, its
client_auth, and the signed JSON POST, written once."""

from __future__ import annotations

import json
from typing import Any, Literal

from chalicelib.domain.attachments import signature
from chalicelib.domain.rows import Row, TenantRow
from chalicelib.services.ports import Ports

SIGNATURE_HEADER = "X-Mail-Proxy-Signature"


def url(
    tenant: TenantRow, path_column: Literal["client_sync_path", "client_attachment_path"], default_path: str
) -> str | None:
    """``client_base_url`` + the tenant's path (or API v1's default); None without a base."""
    base = (tenant.get("client_base_url") or "").rstrip("/")
    if not base:
        return None
    return base + (tenant.get(path_column) or default_path)


def client_auth(ports: Ports, tenant: TenantRow) -> Row | None:
    """The tenant's client_auth with its secrets decrypted, for calls to its application."""
    stored = tenant.get("client_auth")
    if not stored:
        return None
    auth: Row = {"method": stored.get("method"), "user": stored.get("user")}
    for key in ("token", "password"):
        if stored.get(f"{key}_enc"):
            auth[key] = ports.cipher.decrypt(stored[f"{key}_enc"])
    return auth


def post_signed(
    ports: Ports, tenant: TenantRow, target: str, payload: Any, auth: Row | None, timeout: float
) -> tuple[int, bytes]:
    """POST ``payload`` as JSON, signed with the tenant's signing secret (docs/api.md §5.10).

    Returns (status, body) whatever the status; FetchError when there is no answer.
    """
    body = json.dumps(payload).encode()
    secret = ports.cipher.decrypt(tenant["signing_secret_enc"])
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature(secret, ports.now(), body)}
    return ports.http.post(target, body, headers, auth, timeout)
