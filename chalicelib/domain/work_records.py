"""The work record, the SQS claim check: what it says, and its one encoding.

A record names a tenant and why it was sent, or, on the system queue, a kind of instance-wide
work. The dispatcher claims from the database, so a record is a hint that work may be
waiting, never the work itself: a lost record costs a tick's delay, a duplicate an empty run.
Encoded here and decoded here; nothing else reads or writes a record's body.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

from chalicelib.errors import UnreadableRecord


class Reason(StrEnum):
    SUBMIT = "submit"  # messages were stored (add-messages)
    TICK = "tick"  # the retry tick found due messages and no record outstanding
    CONTINUE = "continue"  # a run yielded (its budget) with due messages left
    RUN_NOW = "run-now"  # an operator asked (run-now), or a tenant was made active
    ACTIVATE = "activate"  # a suspended batch (or the whole tenant's sending) resumed
    REPORT = "report"  # a report run only (the reports tick, a bounce's new event)


# Sent at most once while one is outstanding (services/enqueue.py): the run a record starts
# claims whatever any of them was sent for.
DEDUPED = frozenset({Reason.SUBMIT, Reason.TICK, Reason.CONTINUE})
# Ask for a report run even when the dispatch run created no events.
REPORTING = frozenset({Reason.REPORT, Reason.RUN_NOW})


class SystemKind(StrEnum):
    BOUNCE_POLL = "bounce-poll"  # POST /instance/reload-bounce: poll the bounce mailboxes now


@dataclass(frozen=True)
class TenantWork:
    tenant_id: str
    reason: Reason = Reason.SUBMIT


@dataclass(frozen=True)
class SystemWork:
    kind: SystemKind


WorkRecord = TenantWork | SystemWork


def encode(record: WorkRecord) -> str:
    if isinstance(record, SystemWork):
        return json.dumps({"kind": record.kind.value})
    return json.dumps({"tenant_id": record.tenant_id, "reason": record.reason.value})


def decode(body: str) -> WorkRecord:
    """A record from an SQS body. A reason this version does not know (a record sent by a
    newer one during a deploy) is read as a submit: a dispatch run, the safe default."""
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise UnreadableRecord(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise UnreadableRecord("not a JSON object")
    if "kind" in data:
        try:
            return SystemWork(SystemKind(data["kind"]))
        except ValueError:
            raise UnreadableRecord(f"unknown system work {data['kind']!r}") from None
    tenant_id = data.get("tenant_id")
    if not isinstance(tenant_id, str) or not tenant_id:
        raise UnreadableRecord("names no tenant")
    try:
        reason = Reason(data.get("reason", Reason.SUBMIT))
    except ValueError:
        reason = Reason.SUBMIT
    return TenantWork(tenant_id, reason)
