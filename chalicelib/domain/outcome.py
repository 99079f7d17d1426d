"""Classification of SMTP attempt outcomes (docs/api.md §5.4) and retry planning (5.7)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, NotRequired, Required, TypedDict

AUTH_FAILURE_CODES = frozenset({530, 534, 535})


class FailureKind(Enum):
    REPLY = "reply"  # the server answered with a code
    CONNECT = "connect"  # refused, reset, closed, DNS
    TIMEOUT = "timeout"
    AUTH = "auth"
    TLS = "tls"  # TLS negotiation or certificate verification
    POLICY = "policy"  # the outbound policy refuses the account's address
    UNKNOWN = "unknown"


def is_temporary(kind: FailureKind, code: int | None) -> bool:
    """Temporary failures are retried; permanent ones end the message as an error."""
    if kind in (FailureKind.TLS, FailureKind.POLICY):
        return False
    if kind is FailureKind.AUTH or (code is not None and code in AUTH_FAILURE_CODES):
        return False
    if code is not None and 500 <= code < 600:
        return False
    if code is not None and 400 <= code < 500:
        return True
    return kind in {FailureKind.CONNECT, FailureKind.TIMEOUT, FailureKind.UNKNOWN, FailureKind.REPLY}


def error_text(description: str, code: int | None) -> str:
    """Server reply or description, then ``(SMTP <code>)`` when a code is known."""
    text = " ".join(description.split()) or "SMTP failure"
    return f"{text} (SMTP {code})" if code is not None else text


class Changes(TypedDict, total=False):
    """What an attempt's outcome changes in the message's row; absent columns are kept."""

    status: str
    sent_ts: int
    error: str
    error_ts: int
    last_error: str
    retry_count: int
    deferred_ts: int | None


class Event(TypedDict):
    """The message event an outcome adds (docs/api.md §4.6)."""

    type: str
    ts: int
    description: NotRequired[str | None]
    metadata: NotRequired[dict[str, Any] | None]


class OutcomeRow(Changes, total=False):
    """One outcome as the dispatch store writes it: the row's changes, its event, the
    counters it adds to (each + 1) and its add -> SMTP latency (sent messages only)."""

    pk: Required[str]
    event: Required[Event]
    metrics: Required[list[str]]
    latency_ms: int | None


@dataclass(frozen=True)
class RetryLater:
    retry_count: int
    deferred_ts: int
    error: str
    attempted_ts: int = field(default=0, compare=False)  # when the failed attempt happened

    def event(self, smtp_code: int | None) -> Event:
        """The message's deferred event. API v1: its event_ts is the retry time (docs/api.md
        §4.6); when the attempt happened goes into its metadata, for timelines."""
        return {
            "type": "deferred",
            "ts": self.deferred_ts,
            "description": self.error,
            "metadata": {"retry_count": self.retry_count, "smtp_code": smtp_code, "attempted_ts": self.attempted_ts},
        }


@dataclass(frozen=True)
class GiveUp:
    error: str


def plan_failure(
    *,
    temporary: bool,
    error: str,
    retry_count: int,
    max_retries: int,
    delays: Sequence[int],
    now: int,
) -> RetryLater | GiveUp:
    """What a failed attempt turns the message into."""
    if not temporary:
        return GiveUp(error)
    if retry_count >= max_retries:
        return GiveUp(f"Max retries ({max_retries}) exceeded: {error}")
    delay = delays[min(retry_count, len(delays) - 1)]
    return RetryLater(retry_count + 1, now + delay, error, now)
