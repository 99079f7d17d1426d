"""Retention (docs/api.md §5.12): batches while the time budget lasts, resumed by the next run."""

from __future__ import annotations

import time
from collections.abc import Callable

from chalicelib import limits
from chalicelib.services.ports import Ports

DAY = 86400


def _drain(step: Callable[[], int], deadline: float) -> int:
    """Repeat a batch until one comes back short or the deadline passes."""
    total = 0
    while True:
        removed = step()
        total += removed
        if removed < limits.RETENTION_BATCH or time.monotonic() >= deadline:
            return total


def apply(ports: Ports, tenant_id: str | None = None, threshold: int | None = None,
          budget_seconds: float = limits.RETENTION_BUDGET) -> int:
    """Remove what retention allows (each tenant's retention_days, or ``threshold`` seconds),
    batch by batch until done or ``budget_seconds`` pass; returns the messages removed."""
    now, deadline, batch = ports.now(), time.monotonic() + budget_seconds, limits.RETENTION_BATCH
    store = ports.retention
    removed = _drain(lambda: store.remove_messages(now, batch, tenant_id, threshold), deadline)
    _drain(lambda: store.remove_rejections(now, batch, tenant_id, threshold), deadline)
    if tenant_id is None:
        _drain(lambda: store.prune_bookkeeping(now - limits.COMMAND_LOG_DAYS * DAY,
                                               now - limits.RATE_WINDOW_DAYS * DAY, batch), deadline)
    return removed
