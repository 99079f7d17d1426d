"""The words read as booleans, in query parameters and in the environment alike."""

from __future__ import annotations

TRUE = frozenset({"true", "1", "yes", "on"})
FALSE = frozenset({"false", "0", "no", "off"})


def read_bool(raw: str) -> bool | None:
    """True or False for a boolean word (any case, surrounding spaces ignored); None otherwise."""
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    return None
