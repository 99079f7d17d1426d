"""Suspended batches set aside (migration 017): the ``held`` flag of a batch's pending
messages follows the tenant's suspension list, in bounded steps.

The flag keeps a suspended batch out of the indexes a claim reads, so that a claim costs what
it takes, not what waits behind it. It is not the rule: every query still checks the list,
so a message whose flag is not yet set is never sent while its batch is suspended. An
activated batch's messages are sent once their flag is cleared: the request clears what its
budget allows, first in dispatch order, and the retry tick the rest (each change is recorded
with the suspension, in one transaction, so a crash in between loses nothing).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from chalicelib import limits
from chalicelib.domain.rows import Row
from chalicelib.services.ports import Ports
from chalicelib.services.retention import drain

# The tick reads at most this many recorded changes per run (oldest first).
OUTSTANDING_PER_TICK = 1000


def settle(ports: Ports, changes: Sequence[Row], budget_seconds: float) -> int:
    """Bring each batch's flags in line with its tenant's list, oldest change first, until the
    budget is spent; a batch settled to the end is finished, the rest stays recorded for the
    next tick. Returns the messages changed."""
    deadline = time.monotonic() + budget_seconds
    total = 0
    for change in changes:
        if time.monotonic() >= deadline:
            break
        tenant_id, batch_code = change["tenant_id"], change["batch_code"]
        steps: list[int] = []

        def step(tenant_id: str = tenant_id, batch_code: str = batch_code, steps: list[int] = steps) -> int:
            steps.append(ports.holds.settle(tenant_id, batch_code, limits.HOLD_BATCH))
            return steps[-1]

        total += drain(step, deadline, batch=limits.HOLD_BATCH)
        if steps[-1] < limits.HOLD_BATCH:
            ports.holds.finish(tenant_id, batch_code, change["version"])
    return total


def settle_outstanding(ports: Ports, budget_seconds: float = limits.HOLD_TICK_BUDGET) -> int:
    """The tick's share: the changes a request left unfinished (or a crash left recorded)."""
    return settle(ports, ports.holds.outstanding(OUTSTANDING_PER_TICK), budget_seconds)
