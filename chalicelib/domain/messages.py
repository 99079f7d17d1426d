"""Message rules of API v1 (docs/api.md §4.3, §4.6, §5.1): priorities, rejections, stored payload, status."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.domain import defaults
from chalicelib.domain.addresses import address_list
from chalicelib.domain.mime import headers_build

PRIORITY_LABELS = {"immediate": 0, "high": 1, "medium": 2, "low": 3}
DEFAULT_PRIORITY: int = defaults.MESSAGE["priority"]
FINISHED = frozenset({"sent", "error", "bounced"})

# RFC 5322 field name: printable ASCII except colon (fullmatch: "$" would allow a final "\n").
_HEADER_NAME = re.compile(r"[!-9;-~]+")
# Every character Python's str.splitlines() breaks on: the email package folds and parses
# header values with it, so any of them in a header-bound value breaks the built message.
_PRINTABLE_ASCII = re.compile(r"[ -~]*")
LINE_BREAKS = frozenset("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def parse_priority(value: Any, default: int = DEFAULT_PRIORITY) -> int:
    """A priority label or int, clamped to 0..3; None falls back to ``default``."""
    if value is None:
        return default
    if isinstance(value, str):
        return PRIORITY_LABELS[value]
    return max(0, min(3, int(value)))


def _has_crlf(value: Any) -> bool:
    """Does a header-bound value carry a line break (CR, LF or any other)?"""
    if isinstance(value, str):
        return not LINE_BREAKS.isdisjoint(value)
    if isinstance(value, list):
        return any(_has_crlf(v) for v in value)
    return False


def headers_invalid(message: Mapping[str, Any]) -> bool:
    """True when a header name is invalid or a header-bound value carries a line break:
    the subject, address fields, message id, custom headers, and the attachment filenames
    and types that become MIME headers."""
    for name, value in (message.get("headers") or {}).items():
        if not _HEADER_NAME.fullmatch(name) or _has_crlf(value):
            return True
    # The id too: it is sent as the X-Genro-Mail-ID header.
    fields = ("id", "subject", "from", "to", "cc", "bcc", "reply_to", "return_path", "message_id")
    if any(_has_crlf(message.get(f)) for f in fields):
        return True
    message_id = message.get("message_id")
    if isinstance(message_id, str) and not _PRINTABLE_ASCII.fullmatch(message_id):
        return True  # a Message-ID is ASCII (RFC 5322 msg-id): no encoded-words there
    return any(
        _has_crlf(att.get("filename")) or _has_crlf(att.get("mime_type"))
        for att in message.get("attachments") or []
        if isinstance(att, dict)
    )


@dataclass(frozen=True)
class Candidate:
    """One submitted message after the checks that need no database."""

    index: int
    message: dict[str, Any]
    rejection: str | None


def precheck(messages: Sequence[Mapping[str, Any]], scope_tenant: str | None) -> list[Candidate]:
    """Rejections 1 to 5 of docs/api.md §4.3, in order; the rest need the database."""
    seen: set[tuple[str, str]] = set()
    out: list[Candidate] = []
    for index, raw in enumerate(messages):
        msg = dict(raw)
        reason: str | None = None
        key = (msg.get("tenant_id", ""), msg.get("id", ""))
        if not msg.get("id"):
            reason = "missing id"
        elif not msg.get("tenant_id"):
            reason = "missing tenant_id"
        elif scope_tenant is not None and msg["tenant_id"] != scope_tenant:
            reason = "Token not authorized for this tenant"
        elif key in seen:
            reason = "duplicate id in request"
        if key[0] and key[1]:
            seen.add(key)
        if reason is None:
            if not msg.get("account_id"):
                reason = "missing account_id"
            elif not msg.get("from"):
                reason = "missing from"
            elif not address_list(msg.get("to")):
                reason = "missing to"
            elif headers_invalid(msg) or not headers_build(msg):
                # What is accepted must build: the headers are built here as dispatch will.
                reason = "invalid headers"
        out.append(Candidate(index, msg, reason))
    return out


_PAYLOAD_KEYS = (
    "id",
    "tenant_id",
    "account_id",
    "from",
    "to",
    "cc",
    "bcc",
    "reply_to",
    "return_path",
    "subject",
    "body",
    "content_type",
    "headers",
    "message_id",
    "attachments",
    "priority",
    "deferred_ts",
    "batch_code",
    "unsubscribe",
)


def stored_payload(message: Mapping[str, Any], priority: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The payload kept for the message (known keys, nulls dropped, priority as int) and the
    attachment secrets that must be stored encrypted instead, keyed by attachment index."""
    payload = {k: message[k] for k in _PAYLOAD_KEYS if message.get(k) is not None}
    payload["priority"] = priority
    secrets: dict[str, dict[str, str]] = {}
    if "attachments" in payload:
        cleaned = []
        for i, att in enumerate(payload["attachments"]):
            att = {k: v for k, v in att.items() if v is not None}
            auth = att.get("auth")
            if auth:
                hidden = {k: auth[k] for k in ("token", "password") if auth.get(k)}
                if hidden:
                    secrets[str(i)] = hidden
                att["auth"] = {k: auth[k] for k in ("method", "user") if auth.get(k) is not None}
            cleaned.append(att)
        payload["attachments"] = cleaned
    return payload, secrets


# Dispatch order (docs/api.md §5.2): the claim's SQL, the listing and the in-memory sort all
# use these columns, in this order.
DISPATCH_ORDER: tuple[str, ...] = ("priority", "created_at", "id")
WHOLE_TENANT = "*"


def dispatch_key(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(row[c] for c in DISPATCH_ORDER)


def held(batch_code: str | None, suspended: Sequence[str]) -> bool:
    """Whether a suspension applies to a message of ``batch_code``."""
    return WHOLE_TENANT in suspended or (batch_code is not None and batch_code in suspended)


def suspended_after(current: Sequence[str], batch_code: str | None, suspend: bool) -> list[str] | None:
    """The suspended batches after suspend/activate (docs/api.md §5.9); ``batch_code`` None means
    the whole tenant. None: refused, as activating one batch under a full suspension is."""
    whole = WHOLE_TENANT in current
    if suspend:
        if batch_code is None:
            return [WHOLE_TENANT]
        return list(current) if whole else sorted(set(current) | {batch_code})
    if batch_code is None:
        return []
    return None if whole else sorted(set(current) - {batch_code})


def batches_changed(before: Sequence[str], after: Sequence[str]) -> list[str]:
    """The batches whose messages a suspend/activate takes out of dispatch or brings back:
    those named in one list and not in the other. The whole-tenant mark is no batch (its
    messages are never set aside; a suspended tenant is never claimed for)."""
    return sorted((set(before) ^ set(after)) - {WHOLE_TENANT})


def derive_status(stored: str, deferred_ts: int | None, is_held: bool) -> str:
    if stored in FINISHED:
        return stored
    if is_held:
        return "suspended"
    if deferred_ts is not None:
        return "deferred"
    return "pending"
