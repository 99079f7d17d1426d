"""add-messages (docs/api.md §3.2, 4.3, 5.2): validate, store in one transaction, then enqueue."""

from __future__ import annotations

import json
import logging

from chalicelib.domain.messages import parse_priority, precheck, stored_payload
from chalicelib.domain.mime import envelope
from chalicelib.domain.rows import Row
from chalicelib.domain.work_records import Reason
from chalicelib.errors import BusinessRuleError
from chalicelib.services.auth import Principal
from chalicelib.services.enqueue import enqueue
from chalicelib.services.ports import Ports

log = logging.getLogger(__name__)

MAX_MESSAGES = 1000
# Reasons that, for a tenant the caller may act for, are owed to its next report.
_REPORTED = {"missing account_id", "missing from", "missing to", "invalid headers", "account not found for tenant"}


def add_messages(ports: Ports, principal: Principal, body: Row) -> Row:
    messages: list[Row] = body["messages"]
    if len(messages) > MAX_MESSAGES:
        raise BusinessRuleError(
            {"error": f"Cannot enqueue more than {MAX_MESSAGES} messages at once", "rejected": None}
        )
    default_priority = parse_priority(body.get("default_priority"))
    candidates = precheck(messages, principal.scoped_tenant())

    tenant_ids = sorted({c.message["tenant_id"] for c in candidates if c.message.get("tenant_id")})
    keys = [(c.message["tenant_id"], c.message["id"]) for c in candidates if c.rejection is None]
    tenants, accounts, status = ports.messages.submission_context(tenant_ids, keys)

    now = ports.now()
    rows: list[Row] = []
    position: dict[tuple[str, str], int] = {}  # each stored row's place in the request
    rejected: list[tuple[int, Row, str]] = []
    owed: list[Row] = []
    for cand in candidates:
        msg = cand.message
        reason = cand.rejection
        if reason is None and (msg["tenant_id"], msg["account_id"]) not in accounts:
            reason = "account not found for tenant"
        if reason is None and status.get((msg["tenant_id"], msg["id"]), "pending") != "pending":
            reason = "already sent"
        if reason is not None:
            rejected.append((cand.index, msg, reason))
            if reason in _REPORTED and msg.get("tenant_id") in tenants and msg.get("id"):
                owed.append({"tenant_id": msg["tenant_id"], "id": msg["id"], "error_ts": now, "error": reason})
            continue
        position[(msg["tenant_id"], msg["id"])] = cand.index
        priority = parse_priority(msg.get("priority"), default_priority)
        payload, secrets = stored_payload(msg, priority)
        rows.append(
            {
                "tenant_id": msg["tenant_id"],
                "id": msg["id"],
                "account_id": msg["account_id"],
                "priority": priority,
                "batch_code": msg.get("batch_code"),
                "payload": payload,
                "secrets_enc": ports.cipher.encrypt(json.dumps(secrets)) if secrets else None,
                "deferred_ts": msg.get("deferred_ts"),
                # For finding it by recipient (7.5): the envelope's addresses, lower case.
                "recipients": sorted({a.lower() for a in envelope(msg, None).recipients}),
            }
        )

    stored = ports.messages.store(rows, owed)
    for row in rows:
        if (row["tenant_id"], row["id"]) not in stored:
            rejected.append((position[(row["tenant_id"], row["id"])], row, "already sent"))
    # The queues are known from the context read: no second read of the tenants.
    enqueue(ports, sorted({t for t, _ in stored}), Reason.SUBMIT, heal=True, queue_urls=tenants)

    rejected_out = []
    for _, msg, reason in sorted(rejected, key=lambda r: r[0]):
        entry: Row = {"reason": reason}
        if msg.get("id"):
            entry = {"id": msg["id"], "reason": reason}
        rejected_out.append(entry)
    if not stored and any(r["reason"] != "already sent" for r in rejected_out):
        raise BusinessRuleError({"error": None, "rejected": rejected_out})
    return {"ok": True, "queued": len(stored), "rejected": rejected_out}
