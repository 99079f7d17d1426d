"""Retention (docs/api.md §5.12): batches while the time budget lasts, resumed by the next run."""

from __future__ import annotations

import time
from collections.abc import Callable

from chalicelib import limits
from chalicelib.services.ports import Ports

DAY = 86400


# Of a run's budget, what messages may use; rejections and the bookkeeping get the rest (each
# at least one batch, so that a deployment whose messages fill every run still prunes them).
MESSAGES_SHARE = 0.8


def drain(
    step: Callable[[], int],
    deadline: float,
    clock: Callable[[], float] = time.monotonic,
    batch: int | None = None,
) -> int:
    """Repeat a step of ``batch`` rows until one comes back short, or until the next would end
    past the deadline (guessed from the longest so far): a run ends within its budget, not one
    step after it. ``batch`` defaults to RETENTION_BATCH."""
    batch = limits.RETENTION_BATCH if batch is None else batch
    total, longest = 0, 0.0
    while True:
        started = clock()
        done = step()
        longest = max(longest, clock() - started)
        total += done
        if done < batch or clock() + longest >= deadline:
            return total


def apply(
    ports: Ports,
    tenant_id: str | None = None,
    threshold: int | None = None,
    budget_seconds: float = limits.RETENTION_BUDGET,
) -> int:
    """Remove what retention allows (each tenant's retention_days, or ``threshold`` seconds),
    batch by batch until done or ``budget_seconds`` pass; returns the messages removed."""
    started, now, batch = time.monotonic(), ports.now(), limits.RETENTION_BATCH
    deadline = started + budget_seconds
    store = ports.retention
    removed = drain(
        lambda: store.remove_messages(now, batch, tenant_id, threshold), started + budget_seconds * MESSAGES_SHARE
    )
    drain(lambda: store.remove_rejections(now, batch, tenant_id, threshold), deadline)
    if tenant_id is None:
        drain(
            lambda: store.prune_bookkeeping(
                now - limits.COMMAND_LOG_DAYS * DAY, now - limits.RATE_WINDOW_DAYS * DAY, batch
            ),
            deadline,
        )
    return removed
