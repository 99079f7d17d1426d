"""Fixed UTC rate windows per account (docs/api.md §5.8)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

WINDOW_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
REASON_LABEL = {"minute": "per minute", "hour": "per hour", "day": "per day"}


@dataclass(frozen=True)
class Window:
    kind: str
    start: int
    limit: int

    @property
    def end(self) -> int:
        return self.start + WINDOW_SECONDS[self.kind]


def limited_windows(limits: Mapping[str, int | None], now: int) -> list[Window]:
    """The windows an attempt at ``now`` must take a slot in; null or <= 0 is unlimited."""
    out = []
    for kind, seconds in WINDOW_SECONDS.items():
        limit = limits.get(kind)
        if limit is not None and limit > 0:
            out.append(Window(kind, now - now % seconds, limit))
    return out


def deferral(exhausted: list[Window]) -> tuple[int, str]:
    """When to try again (start of the latest next window) and the reason text."""
    worst = max(exhausted, key=lambda w: w.end)
    return worst.end, f"rate limit exceeded ({REASON_LABEL[worst.kind]})"


def held_metadata(now: int) -> dict[str, object]:
    """The metadata of a rate-limit deferral's event, whichever path holds the message back."""
    return {"rate_limited": True, "attempted_ts": now}
