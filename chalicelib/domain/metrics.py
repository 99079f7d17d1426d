"""The per-account counters (docs/api.md §5.13): their names, written once."""

from __future__ import annotations

from typing import Final

SENT: Final = "sent"
ERRORS: Final = "errors"
DEFERRED: Final = "deferred"
RATE_LIMITED: Final = "rate_limited"

# Every account exposes these four series from its creation on (seeded at zero).
NAMES: Final[tuple[str, ...]] = (SENT, ERRORS, DEFERRED, RATE_LIMITED)

# Prometheus family name and help text of each counter.
FAMILIES: Final[dict[str, tuple[str, str]]] = {
    SENT: ("gmp_sent", "Messages accepted by the SMTP server"),
    ERRORS: ("gmp_errors", "Messages that ended in error during dispatch"),
    DEFERRED: ("gmp_deferred", "Deferrals, by temporary failure or rate limit"),
    RATE_LIMITED: ("gmp_rate_limited", "Attempts blocked by an account rate limit"),
}

# The add -> SMTP latency histogram (seconds from a message's created_at to the SMTP server's
# acceptance, retries and requested deferrals included). Stored per account like the counters:
# one non-cumulative counter per bucket (LATENCY_PREFIX + bound, "inf" for the last) and the sum
# in milliseconds (integers, like every counter); the scrape makes them cumulative.
LATENCY_FAMILY: Final = ("gmp_send_latency_seconds", "Seconds from add-messages to SMTP acceptance")
LATENCY_BOUNDS: Final[tuple[float, ...]] = (
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
    900.0,
    3600.0,
)
LATENCY_PREFIX: Final = "latency_le_"
LATENCY_SUM_MS: Final = "latency_ms_sum"


def latency_bucket(seconds: float) -> str:
    """The counter one message of this latency adds to."""
    for bound in LATENCY_BOUNDS:
        if seconds <= bound:
            return f"{LATENCY_PREFIX}{bound:g}"
    return f"{LATENCY_PREFIX}inf"


def latency_series(stored: dict[str, int]) -> tuple[list[tuple[str, float]], float]:
    """Cumulative Prometheus buckets and the sum in seconds from one account's stored counters."""
    buckets: list[tuple[str, float]] = []
    total = 0
    for bound in LATENCY_BOUNDS:
        total += stored.get(f"{LATENCY_PREFIX}{bound:g}", 0)
        buckets.append((f"{bound:g}", float(total)))
    total += stored.get(f"{LATENCY_PREFIX}inf", 0)
    buckets.append(("+Inf", float(total)))
    return buckets, stored.get(LATENCY_SUM_MS, 0) / 1000.0


LATENCY_NAMES: Final[tuple[str, ...]] = (
    *(f"{LATENCY_PREFIX}{b:g}" for b in LATENCY_BOUNDS),
    f"{LATENCY_PREFIX}inf",
    LATENCY_SUM_MS,
)
