"""URL-safe opaque values, written once: unpadded base64url, and the JSON cursors of the
paged listings (GET /messages, GET /suppressions). Reading never raises: anything not
made here reads as None, which the caller answers with its 422."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unb64(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, binascii.Error):
        return None


def encode(value: Any) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


def decode(text: str) -> Any | None:
    raw = unb64(text) if len(text) <= 2048 else None
    try:
        return None if raw is None else json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
