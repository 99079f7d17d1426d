"""Service control: suspend/activate batches (5.9) and run-now (3.2)."""

from __future__ import annotations

from chalicelib import limits
from chalicelib.domain.rows import Row
from chalicelib.domain.work_records import Reason
from chalicelib.errors import BusinessRuleError, tenant_not_found
from chalicelib.services import holds
from chalicelib.services.auth import Principal
from chalicelib.services.enqueue import enqueue
from chalicelib.services.ports import Ports


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
    holds.settle(ports, result["hold_changes"], limits.HOLD_REQUEST_BUDGET)
    return _answer(ports, tenant_id, batch, result["suspended_batches"])


def activate(ports: Ports, principal: Principal, tenant_id: str, batch_code: str | None) -> Row:
    principal.scope(tenant_id)
    batch = _batch(batch_code)
    result = ports.tenants.change_suspension(tenant_id, batch, suspend=False)
    if result is None or result.get("refused"):
        raise BusinessRuleError("tenant not found or cannot activate single batch from full suspension")
    holds.settle(ports, result["hold_changes"], limits.HOLD_REQUEST_BUDGET)
    enqueue(ports, [tenant_id], Reason.ACTIVATE, heal=True)
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
        enqueue(ports, [target], Reason.RUN_NOW, heal=True)
    else:
        every = ports.tenants.list_all()
        enqueue(
            ports,
            [t["id"] for t in every],
            Reason.RUN_NOW,
            heal=True,
            queue_urls={t["id"]: t.get("queue_url") for t in every},
        )
    return {"ok": True}
