"""API keys and signing secrets: made random, stored and compared as hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_token(prefix: str = "") -> str:
    """A 256-bit random token, URL-safe."""
    return prefix + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    # Keys are 256-bit random values, so a fast unsalted hash is enough to make a
    # stolen table useless; it also allows lookup by hash.
    return hashlib.sha256(key.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time comparison (no timing oracle on the admin token)."""
    return hmac.compare_digest(a.encode(), b.encode())
