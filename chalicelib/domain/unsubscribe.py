"""One-click unsubscribe (docs/api.md §7.3, RFC 2369 and RFC 8058), pure: the token
that names a tenant's message without showing an address, and the two headers."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any

from chalicelib.domain.cursors import b64, unb64

ONE_CLICK = "List-Unsubscribe=One-Click"
_MAC_BYTES = 16


def _mac(key: str, body: bytes) -> bytes:
    derived = hashlib.sha256(b"mail-proxy-unsubscribe:" + key.encode()).digest()
    return hmac.new(derived, body, hashlib.sha256).digest()[:_MAC_BYTES]


def token(keys: Sequence[str], tenant_id: str, message_id: str) -> str:
    """URL-safe, unforgeable (HMAC under the newest server key); names tenant and message."""
    body = f"{tenant_id}\n{message_id}".encode()
    return f"{b64(body)}.{b64(_mac(keys[0], body))}"


def read(keys: Sequence[str], value: str) -> tuple[str, str] | None:
    """(tenant_id, message_id) of a token made under any of the keys; None for anything else."""
    body_text, dot, mac_text = value.partition(".")
    if not dot or len(value) > 2048:
        return None
    body, mac = unb64(body_text), unb64(mac_text)
    if body is None or mac is None:
        return None
    try:
        tenant_id, newline, message_id = body.decode().partition("\n")
    except UnicodeDecodeError:
        return None
    if not newline or not any(hmac.compare_digest(mac, _mac(k, body)) for k in keys):
        return None
    return tenant_id, message_id


def wanted(message: Mapping[str, Any], config: Mapping[str, Any] | None) -> bool:
    """On for this message (its own flag, else the tenant's), and it brings no header of its own."""
    own = message.get("unsubscribe")
    on = own if isinstance(own, bool) else bool((config or {}).get("enabled"))
    headers = message.get("headers") or {}
    return on and not any(name.lower() == "list-unsubscribe" for name in headers)


def headers(public_url: str, value: str, mailto: str | None) -> dict[str, str]:
    """List-Unsubscribe (the one-click URL, and a mailto when configured) and the POST marker."""
    links = f"<{public_url.rstrip('/')}/unsubscribe/{value}>"
    if mailto:
        links += f", <mailto:{mailto}?subject=unsubscribe-{value}>"
    return {"List-Unsubscribe": links, "List-Unsubscribe-Post": ONE_CLICK}
