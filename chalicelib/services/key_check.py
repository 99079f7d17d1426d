"""Does this deployment's MAILPROXY_ENCRYPTION_KEY read the secrets its database holds?

The first API environment of a deployment seals a known value with the key; every later one
opens it, once. A deployment started with another key (a regenerated one, a typo, a restore
into another stack) then says so on its first request, naming the variable, instead of
failing later one message at a time."""

from __future__ import annotations

import threading

from chalicelib.errors import KeyMismatch, SecretUnreadable
from chalicelib.services.ports import Ports

KNOWN = "mail-proxy key check"
MISMATCH = (
    "MAILPROXY_ENCRYPTION_KEY cannot read the secrets this database holds (they were stored "
    "under another key): set it back to that key, or to 'new,old' to rotate "
    '(docs/operations.md, "Rotating secrets")'
)

_checked = threading.Event()


def ensure(ports: Ports) -> None:
    """Raise KeyMismatch (naming the variable) when the key does not match; cheap once it has
    passed in this execution environment."""
    if _checked.is_set():
        return
    stored = ports.instance.key_check(ports.cipher.encrypt(KNOWN))
    try:
        opened = ports.cipher.decrypt(stored)
    except SecretUnreadable:
        raise KeyMismatch(MISMATCH) from None
    if opened != KNOWN:
        raise KeyMismatch(MISMATCH)
    _checked.set()


def forget() -> None:
    """For tests that change the key within one process."""
    _checked.clear()
