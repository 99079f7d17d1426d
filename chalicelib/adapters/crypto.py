"""Secrets at rest: Fernet (AES-128-CBC + HMAC) keyed from MAILPROXY_ENCRYPTION_KEY.

The key may list several comma-separated keys, newest first (``new,old``): values are
encrypted with the first and decrypted with any, so a key can be rotated without losing the
secrets stored under the old one (docs/operations.md, "Rotating secrets").
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING

from chalicelib.errors import SecretUnreadable

UNREADABLE = (
    "a stored secret cannot be decrypted with MAILPROXY_ENCRYPTION_KEY: it was stored under "
    "another key (set the variable back to that key, or 'new,old' to rotate)"
)

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet


class Cipher:
    def __init__(self, key: str) -> None:
        self._keys = [k.strip() for k in key.split(",") if k.strip()] or [key]
        self._built: MultiFernet | None = None

    @property
    def _fernet(self) -> MultiFernet:
        # Built (and cryptography imported) by the first secret a path reads or writes.
        if self._built is None:
            from cryptography.fernet import Fernet, MultiFernet

            self._built = MultiFernet(
                [Fernet(base64.urlsafe_b64encode(hashlib.sha256(k.encode()).digest())) for k in self._keys]
            )
        return self._built

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, token: str) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise SecretUnreadable(UNREADABLE) from None

    def encrypt_opt(self, plain: str | None) -> str | None:
        return None if plain is None else self.encrypt(plain)

    def decrypt_opt(self, token: str | None) -> str | None:
        return None if token is None else self.decrypt(token)
