"""Attachment rules (docs/api.md §5.5) that need no I/O."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from chalicelib.errors import MessageFailure


class AttachmentError(MessageFailure):
    """Cause text for ``Attachment fetch failed for <filename>: <cause>``."""


def fetch_mode(storage_path: str, declared: str | None) -> str:
    if declared:
        return declared
    if storage_path.startswith("base64:"):
        return "base64"
    if storage_path.startswith(("http://", "https://")):
        return "http_url"
    if storage_path.startswith("/"):
        return "filesystem"
    return "endpoint"


def decode_base64(data: str) -> bytes:
    text = data[len("base64:") :] if data.startswith("base64:") else data
    text = "".join(text.split())
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise AttachmentError("invalid base64 content") from None


def confined_path(base_dir: str | None, requested: str, realpath: object = os.path.realpath) -> str:
    """The real path of ``requested`` if it lies inside ``base_dir`` (after .. and links)."""
    if not base_dir:
        raise AttachmentError("filesystem attachments are disabled")
    resolve = realpath  # injected so the rule is testable without a file system
    base = resolve(base_dir)  # type: ignore[operator]
    joined = requested if os.path.isabs(requested) else os.path.join(base, requested)
    target = resolve(joined)  # type: ignore[operator]
    if target != base and not str(target).startswith(str(base) + os.sep):
        raise AttachmentError("path outside allowed directory")
    return str(target)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``X-Mail-Proxy-Signature`` value: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"
