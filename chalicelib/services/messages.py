"""Message listing and deletion (docs/api.md §3.2, 3.4)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from chalicelib import limits
from chalicelib.domain import answers
from chalicelib.domain.finding import Query, cursor
from chalicelib.domain.rows import Row
from chalicelib.domain.views import message_record
from chalicelib.errors import NotFoundError
from chalicelib.services import retention
from chalicelib.services.auth import Principal
from chalicelib.services.ports import Ports


def _records(ports: Ports, rows: list[Row], include_history: bool) -> list[Row]:
    history: dict[Any, list[Row]] = defaultdict(list)
    if include_history:
        for event in ports.messages.events_of([r["pk"] for r in rows]):
            history[event["message_pk"]].append(event)
    return [message_record(r, history[r["pk"]] if include_history else None) for r in rows]


def list_messages(
    ports: Ports,
    principal: Principal,
    tenant_id: str,
    active_only: bool,
    include_history: bool,
    query: Query | None = None,
) -> Row:
    """v1's list, filtered and paged when asked (docs/api.md §7.5); unpaged, cut at
    MAILPROXY_MAX_LIST records, and any answer cut where Lambda's answer limit would be."""
    principal.scope(tenant_id)
    query = query or Query()
    cap = query.limit or ports.settings.max_list
    rows = ports.messages.find(tenant_id, active_only, query, cap + 1)
    records = _records(ports, rows[:cap], include_history)

    def build(kept: int) -> Row:
        # However large the messages, the answer must fit what Lambda can return: cut there,
        # and the cursor leads on (a shorter page, never a 502).
        more = len(rows) > cap or kept < len(records)
        answer: Row = {"ok": True, "messages": records[:kept]}
        if query.paged or more:
            answer["next_cursor"] = cursor(rows[kept - 1]) if more else None
        return answer

    return answers.fitted(build, records)


def get_message(ports: Ports, principal: Principal, tenant_id: str, message_id: str) -> Row:
    principal.scope(tenant_id)
    rows = ports.messages.find(tenant_id, False, Query(q=message_id), None)
    found = [r for r in rows if r["id"] == message_id]
    if not found:
        raise NotFoundError("Message not found")
    return {"ok": True, "message": _records(ports, found, True)[0]}


def delete_messages(ports: Ports, principal: Principal, tenant_id: str, body: Row) -> Row:
    principal.scope(tenant_id)
    ids = [i for i in (body.get("ids") or [])]
    removed, missing = ports.messages.delete(tenant_id, ids)
    return {"ok": True, "removed": removed, "not_found": [], "unauthorized": missing}


def cleanup_messages(ports: Ports, principal: Principal, tenant_id: str, body: Row) -> Row:
    """Retention now, with the given threshold or the tenant's retention_days."""
    principal.scope(tenant_id)
    seconds = body.get("older_than_seconds")
    threshold = max(0, seconds) if seconds is not None else None
    if threshold is None:
        tenant = ports.tenants.get(tenant_id)
        if tenant is None:
            return {"ok": True, "removed": 0}
        threshold = tenant["retention_days"] * 86400
    removed = retention.apply(ports, tenant_id, threshold, budget_seconds=limits.CLEANUP_BUDGET)
    return {"ok": True, "removed": removed}
