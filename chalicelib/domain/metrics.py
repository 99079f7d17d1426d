"""The per-account counters (contract 5.13): their names, written once."""

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
