"""The tick (docs/api.md §5.1): what the scheduled functions do each time they fire."""

from __future__ import annotations

from typing import Any

from chalicelib import limits
from chalicelib.domain.work_records import Reason
from chalicelib.services import holds, retention
from chalicelib.services.enqueue import enqueue, stale_after
from chalicelib.services.ports import Ports

SCHEDULER_BEAT = "scheduler"


def retry_tick(ports: Ports) -> dict[str, Any]:
    """Re-enqueue every tenant with due messages (after finishing suspensions and
    activations a request left unfinished).

    This covers deferred messages whose time came, leases that expired with a crashed
    dispatcher, reactivated tenants and work records whose send failed after commit.
    A work record is only a claim check, so a surplus one costs one empty claim.
    """
    ports.instance.beat(SCHEDULER_BEAT, ports.now())
    # First the activated batches a request left held: what this clears is due below.
    holds.settle_outstanding(ports)
    due = ports.dispatch.tenants_with_due(ports.now(), stale_after(ports), limits.TICK_TENANTS)
    # The statement named each tenant's queue (None: the pool): no read per tenant, and the
    # pool's records go out ten to a call. Tenants beyond the bound are the next tick's first.
    sent = enqueue(
        ports,
        [row["id"] for row in due],
        Reason.TICK,
        heal=True,
        queue_urls={row["id"]: row.get("queue_url") for row in due},
    )
    return {"enqueued": sent}


def reports_tick(ports: Ports) -> dict[str, Any]:
    """Queue a report run for every tenant with entries past their backoff or an empty sync
    due; the run itself happens in the tenant's own dispatch invocation."""
    due = ports.reports.tenants_due(ports.clock(), ports.settings.report_interval, limits.TICK_TENANTS)
    sent = enqueue(
        ports, [row["id"] for row in due], Reason.REPORT, queue_urls={row["id"]: row.get("queue_url") for row in due}
    )
    return {"enqueued": sent}


def retention_tick(ports: Ports) -> dict[str, Any]:
    """Apply every tenant's retention_days (docs/api.md §5.12)."""
    return {"removed": retention.apply(ports)}
