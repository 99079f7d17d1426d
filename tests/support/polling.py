"""Synchronisation by polling with a deadline; never a bare sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(check: Callable[[], T], timeout: float = 10.0, interval: float = 0.05, what: str = "condition") -> T:
    """Call ``check`` until it returns something truthy; fail with its last value."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            last = check()
            if last:
                return last  # type: ignore[return-value]
        except AssertionError as exc:
            last = exc
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not reached within {timeout}s; last: {last!r}")
        time.sleep(interval)


def away_from_minute_boundary(margin: float = 8.0) -> None:
    """Wait (by polling the clock) until the current UTC minute has room left, so that a
    test of per-minute rate windows does not straddle two windows."""
    eventually(
        lambda: 1.0 <= time.time() % 60 <= 60 - margin, timeout=70, interval=0.2, what="a quiet part of the minute"
    )
