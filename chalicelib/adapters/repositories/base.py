"""What the repositories share: the database handle, JSON binding, and SQL fragments."""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from chalicelib.adapters.database import Database
from chalicelib.domain.messages import DISPATCH_ORDER, WHOLE_TENANT


class Repository:
    def __init__(self, db: Database) -> None:
        self.db = db


def jsonb(value: Any) -> Any:
    """A JSON column's value; None stays SQL NULL."""
    return None if value is None else Jsonb(value)


# ORDER BY for messages aliased ``m``, from the domain's dispatch order.
DISPATCH_ORDER_SQL = ", ".join(f"m.{column}" for column in DISPATCH_ORDER)

# A message is due when unfinished, not deferred into the future, not leased, its tenant
# active and its batch not held (domain.messages.held, in SQL). Needs ``%(now)s``.
# ``NOT m.held`` keeps a suspended batch out of the due indexes (migration 017); the
# suspension list stays the rule, for the messages whose flag a settle has yet to set.
_DUE_REST = f"""
    m.status = 'pending' AND NOT m.held
    AND (m.claim_expires IS NULL OR m.claim_expires < %(now)s)
    AND t.active
    AND NOT ('{WHOLE_TENANT}' = ANY (t.suspended_batches))
    AND (m.batch_code IS NULL OR NOT (m.batch_code = ANY (t.suspended_batches)))
"""
DUE = f"(m.deferred_ts IS NULL OR m.deferred_ts <= %(now)s) AND {_DUE_REST}"
# The same, in the two halves migration 015 indexes, so that a backlog deferred into the
# future (retries after an outage) is never read to find what is due: READY (never deferred,
# or its deferral settled by a claim) in dispatch order, DEFERRED_DUE by when it became due.
READY = f"m.deferred_ts IS NULL AND {_DUE_REST}"
DEFERRED_DUE = f"m.deferred_ts IS NOT NULL AND m.deferred_ts <= %(now)s AND {_DUE_REST}"

# The one way an event row is written (an outcome, a bounce): columns in this order.
INSERT_EVENT = "INSERT INTO events (message_pk, tenant_id, event_type, event_ts, description, metadata)"
