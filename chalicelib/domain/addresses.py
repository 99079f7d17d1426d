"""Address fields as API v1 reads them (docs/api.md §4.1), pure."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def address_list(value: Any) -> list[str]:
    """A to/cc/bcc value (comma-separated string or list) as non-empty stripped items."""
    if value is None:
        return []
    items: Iterable[str] = value.split(",") if isinstance(value, str) else value
    return [item.strip() for item in items if isinstance(item, str) and item.strip()]
