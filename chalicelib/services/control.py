"""Service control: suspend/activate batches (5.9) and run-now (3.2)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from chalicelib.domain.records import Row
from chalicelib.errors import BusinessRuleError, InfrastructureError, QueueMissing, tenant_not_found
from chalicelib.services.auth import Principal
from chalicelib.services.ports import Ports

log = logging.getLogger(__name__)



def _batch(batch_code: str | None) -> str | None:
    return None if batch_code in (None, "*") else batch_code


def _answer(ports: Ports, tenant_id: str, batch: str | None, suspended: list[str]) -> Row:
    answer: Row = {"ok": True, "tenant_id": tenant_id}
    if batch is not None:
        answer["batch_code"] = batch
    answer["suspended_batches"] = suspended
    answer["pending_messages"] = ports.messages.count_unfinished(tenant_id, batch)
    return answer


def suspend(ports: Ports, principal: Principal, tenant_id: str, batch_code: str | None) -> Row:
    principal.scope(tenant_id)
    batch = _batch(batch_code)
    result = ports.tenants.change_suspension(tenant_id, batch, suspend=True)
    if result is None:
        raise BusinessRuleError("tenant not found")
    return _answer(ports, tenant_id, batch, result["suspended_batches"])


def activate(ports: Ports, principal: Principal, tenant_id: str, batch_code: str | None) -> Row:
    principal.scope(tenant_id)
    batch = _batch(batch_code)
    result = ports.tenants.change_suspension(tenant_id, batch, suspend=False)
    if result is None or result.get("refused"):
        raise BusinessRuleError(
            "tenant not found or cannot activate single batch from full suspension"
        )
    nudge(ports, [tenant_id], "activate", heal=True)
    return _answer(ports, tenant_id, batch, result["suspended_batches"])


def run_now(ports: Ports, principal: Principal, tenant_id: str | None) -> Row:
    if tenant_id is not None:
        principal.scope(tenant_id)
    target = tenant_id or principal.scoped_tenant()
    if target is not None:
        if not ports.tenants.exists(target):
            raise tenant_not_found(target)
        # A named tenant gets a report request now, even an empty one.
        ports.reports.reset_sync(target)
        nudge(ports, [target], "run-now", heal=True)
    else:
        every = ports.tenants.list_all()
        nudge(ports, [t["id"] for t in every], "run-now", heal=True,
              known={t["id"]: t.get("queue_url") for t in every})
    return {"ok": True}


def nudge(ports: Ports, tenant_ids: list[str], reason: str, heal: bool = False,
          known: Mapping[str, str | None] | None = None) -> None:
    """Send a work record for each tenant; failures are left to the next tick.

    A pooled tenant's (no queue of its own) goes to the work queue, ten to a call; a dedicated
    tenant's to its own queue. With ``heal`` (the API and the retry tick, whose roles may
    provision queues) a dedicated tenant whose queue has gone (deleted, or an AWS endpoint
    that restarted empty) gets it back, with its mapping. ``known``: queue URLs the caller has
    already read, by tenant (None: pooled).
    """
    pooled: list[tuple[str, str]] = []
    for tenant_id in tenant_ids:
        if known is not None and tenant_id in known:
            url = known[tenant_id]
        else:
            row = ports.tenants.get(tenant_id)
            if row is None:
                continue
            url = row.get("queue_url")
        if url is None:
            pooled.append((tenant_id, reason))
            continue
        try:
            try:
                ports.queues.notify(url, tenant_id, reason)
            except QueueMissing:
                if not heal:
                    raise
                log.warning("queue of tenant %s is missing: provisioning it again", tenant_id)
                url, dlq = ports.queues.create(tenant_id)
                ports.tenants.set_queue_urls(tenant_id, url, dlq)
                ports.queues.notify(url, tenant_id, reason)
        except InfrastructureError as exc:
            log.warning("work record not sent; the next tick covers it: %s", exc)
    if pooled:
        failed = ports.queues.notify_pool(pooled)
        if failed:
            log.warning("work records of %d pooled tenants not sent; the next tick covers them", len(failed))
