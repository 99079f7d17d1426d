"""An account's rate limits at claim time (docs/api.md §5.8): a claim takes no more messages than
the account's tightest window has room for, and a spent window holds the account's due
messages in one statement until it ends. The work then follows the messages sent, not the
backlog: a 1 M backlog under a 50,000/h limit is read once per window, never claimed,
refused and deferred message by message with an event each (issue 17 #8). Each attempt still
takes its slot atomically (services/dispatch.py), which keeps the limit exact however many runs
race."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.rate import Window, deferral, limited_windows
from chalicelib.domain.rows import AccountRow
from chalicelib.services.ports import Ports


def windows_of(account: AccountRow, now: int) -> list[Window]:
    return limited_windows(
        {
            "minute": account.get("limit_per_minute"),
            "hour": account.get("limit_per_hour"),
            "day": account.get("limit_per_day"),
        },
        now,
    )


def held(account: AccountRow, now: int) -> bool:
    """Is the account waiting for its spent window to end?"""
    until = account.get("rate_held_until")
    return until is not None and until > now


@dataclass(frozen=True)
class Room:
    claim: int  # messages the next claim may take
    until: int | None = None  # when the tightest window ends, if it binds this claim
    reason: str = ""
    spent: bool = False  # no slot left: hold the account's due messages


@dataclass(frozen=True)
class Held:
    deferred: int = 0  # messages held back
    rejected: int = 0  # messages that ended in error (limit_behavior reject)


def room(ports: Ports, tenant_id: str, account: AccountRow, want: int, in_flight: int = 0) -> Room:
    """How many of ``want`` messages the account may claim now, ``in_flight`` of its messages
    being claimed by this run and not yet done (they may still take slots). Only the counters
    say a window is spent; in-flight messages only make a claim smaller."""
    windows = windows_of(account, ports.now())
    if not windows:
        return Room(want)
    left, tightest = ports.rates.remaining(tenant_id, account["id"], windows)
    if left - in_flight >= want:
        return Room(want)
    until, reason = deferral(tightest)
    return Room(max(0, min(want, left - in_flight)), until, reason, spent=left <= 0)


def hold(ports: Ports, tenant_id: str, account: AccountRow, bound: Room) -> Held:
    """The window is spent (``bound.spent``): the account's due messages wait for its end,
    held in one statement."""
    if bound.until is None:
        return Held()
    reject = account.get("limit_behavior") == "reject"
    changed = ports.dispatch.hold_back(tenant_id, account["id"], ports.now(), bound.until, bound.reason, reject=reject)
    return Held(rejected=changed) if reject else Held(deferred=changed)
