"""Enqueue work: the one place that sends work records (the SQS claim checks).

A record names a tenant and a reason; the dispatcher claims from the database, so a record
is a hint that work may be waiting, never the work itself. A tenant has at most one
dispatch record outstanding (migration 012): the mark is set here, before the send, and
cleared by the run when it ends (services/dispatch.py), which then looks for due messages
once more. A report record asks for a report run only and is never deduplicated.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from chalicelib import limits
from chalicelib.domain.work_records import DEDUPED, Reason, TenantWork
from chalicelib.errors import InfrastructureError, QueueMissing
from chalicelib.services.ports import Ports

log = logging.getLogger(__name__)


def stale_after(ports: Ports) -> int:
    """Seconds after which an outstanding record is presumed lost: limits.WORK_RECORD_STALE, or
    the claim lease if shorter (a run that died is noticed once its claims have expired, no
    later: the lease is the promise of how long a crash may hold messages)."""
    return min(limits.WORK_RECORD_STALE, ports.settings.claim_lease_seconds)


def enqueue(
    ports: Ports,
    tenant_ids: Sequence[str],
    reason: Reason,
    heal: bool = False,
    queue_urls: Mapping[str, str | None] | None = None,
) -> list[str]:
    """Send a work record for each tenant that needs one; returns the tenants sent for.
    Failures are logged and left to the next tick.

    A pooled tenant's (no queue of its own) goes to the work queue, ten to a call; a dedicated
    tenant's to its own queue. With ``heal`` (the API and the retry tick, whose roles may
    provision queues) a dedicated tenant whose queue has gone (deleted, or an AWS endpoint
    that restarted empty) gets it back, with its mapping. ``queue_urls``: the tenants' queues as
    the caller has already read them (None: pooled), so that they are not read again.
    """
    targets = list(dict.fromkeys(tenant_ids))
    if reason is not Reason.REPORT and targets:
        stale = stale_after(ports) if reason in DEDUPED else None
        targets = ports.dispatch.mark_work(targets, ports.now(), stale)
    pooled: list[TenantWork] = []
    failed: list[str] = []
    for tenant_id in targets:
        if queue_urls is not None and tenant_id in queue_urls:
            url = queue_urls[tenant_id]
        else:
            row = ports.tenants.get(tenant_id)
            if row is None:
                continue
            url = row.get("queue_url")
        record = TenantWork(tenant_id, reason)
        sent = _send_dedicated(ports, record, url, heal) if url is not None else None
        if sent is None:
            pooled.append(record)
        elif not sent:
            failed.append(tenant_id)
    if pooled:
        lost = ports.queues.notify_pool(pooled)
        if lost:
            log.warning("work records of %d pooled tenants not sent; the next tick covers them", len(lost))
            failed.extend(lost)
    if failed and reason is not Reason.REPORT:
        try:
            ports.dispatch.unmark_work(failed)
        except InfrastructureError as exc:  # the marks go stale and the tick replaces them
            log.warning("work marks not cleared: %s", exc)
    unsent = set(failed)
    return [t for t in targets if t not in unsent]


def _send_dedicated(ports: Ports, record: TenantWork, url: str, heal: bool) -> bool | None:
    """True: sent; False: not sent; None: the queue has gone and this caller may not make it
    again (the reports tick, the bounce poll), so the record goes to the pool, whose
    dispatcher serves any tenant: reports never wait for a queue to come back."""
    try:
        try:
            ports.queues.notify(url, record)
        except QueueMissing:
            if not heal:
                log.warning("queue of tenant %s is missing: its work goes to the pool", record.tenant_id)
                return None
            log.warning("queue of tenant %s is missing: provisioning it again", record.tenant_id)
            url, dlq = ports.queues.create(record.tenant_id)
            ports.tenants.set_queue_urls(record.tenant_id, url, dlq)
            ports.queues.notify(url, record)
        return True
    except InfrastructureError as exc:
        log.warning("work record not sent; the next tick covers it: %s", exc)
        return False
