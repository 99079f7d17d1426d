"""The suppression list's routes (docs/api.md §7.1): list, add, remove."""

from __future__ import annotations

from chalicelib.domain import cursors, schemas, suppression
from chalicelib.domain.rows import Row
from chalicelib.errors import NotFoundError, RequestValidationError, tenant_not_found
from chalicelib.services.auth import Principal
from chalicelib.services.ports import Ports

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def _cursor(seq: int) -> str:
    return cursors.encode(["s", seq])


def _after(cursor: str | None) -> int | None:
    """The position a cursor continues from; anything not made by _cursor is a 422."""
    if cursor is None:
        return None
    value = cursors.decode(cursor)
    if isinstance(value, list) and len(value) == 2 and value[0] == "s" and type(value[1]) is int:
        return int(value[1])
    raise RequestValidationError([{"loc": ["query", "cursor"], "msg": "Invalid cursor", "type": "value_error"}])


def list_for(ports: Ports, principal: Principal, tenant_id: str, query: dict[str, str]) -> Row:
    principal.scope(tenant_id)
    reason = query.get("reason")
    if reason is not None and reason not in suppression.REASONS:
        raise RequestValidationError(
            [
                {
                    "loc": ["query", "reason"],
                    "type": "enum",
                    "msg": f"Input should be one of {', '.join(suppression.REASONS)}",
                }
            ]
        )
    limit = schemas.parse_int("limit", query.get("limit"), 1, MAX_LIMIT) or DEFAULT_LIMIT
    rows = ports.suppressions.page(tenant_id, reason, limit + 1, _after(query.get("cursor")))
    page = rows[:limit]
    return {
        "ok": True,
        "suppressions": [
            {
                "address": r["address"],
                "reason": r["reason"],
                "created_ts": r["created_ts"],
                "message_id": r["message_id"],
                "detail": r["detail"],
            }
            for r in page
        ],
        "next_cursor": _cursor(page[-1]["seq"]) if len(rows) > limit else None,
    }


def add(ports: Ports, principal: Principal, body: Row) -> Row:
    tenant_id = body["tenant_id"]
    principal.scope(tenant_id)
    if not ports.tenants.exists(tenant_id):
        raise tenant_not_found(tenant_id)
    addresses = [suppression.normal(a) for a in body["addresses"]]
    added = ports.suppressions.add(tenant_id, addresses, suppression.MANUAL, ports.now(), None, body.get("detail"))
    return {"ok": True, "added": added}


def delete(ports: Ports, principal: Principal, tenant_id: str, address: str) -> Row:
    principal.scope(tenant_id)
    if not ports.suppressions.delete(tenant_id, suppression.normal(address)):
        raise NotFoundError("Address not suppressed")
    return {"ok": True}
