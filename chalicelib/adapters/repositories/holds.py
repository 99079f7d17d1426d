"""Held batches: the ``held`` flag of a suspended batch's messages (migration 017), kept in
line with the tenant's suspension list in bounded steps."""

from __future__ import annotations

from chalicelib.adapters.repositories.base import Repository
from chalicelib.domain.rows import Row

# Set or clear the ``held`` flag of up to %(limit)s pending messages of one batch
# (HoldRepository.settle). Each message is locked by its key alone, then checked, as in
# dispatch.CLAIM_SQL: a condition on ``status`` in the same scan let stale statistics
# ("nothing is pending") choose a partial index, walked once per message. The UPDATE checks
# ``held`` again as it writes, so two settles of one batch never undo each other.
SETTLE_SQL = """
WITH want AS (
    SELECT %(batch)s = ANY (suspended_batches) AS held FROM tenants WHERE id = %(tenant)s
), todo AS (
    SELECT m.pk FROM messages m
    WHERE m.tenant_id = %(tenant)s AND m.batch_code = %(batch)s AND m.status = 'pending'
      AND m.held = NOT (SELECT held FROM want)
    ORDER BY m.priority, m.created_at, m.id
    LIMIT %(limit)s
), locked AS (
    SELECT l.pk FROM todo CROSS JOIN LATERAL (
        SELECT x.pk, x.status FROM messages x WHERE x.pk = todo.pk LIMIT 1 FOR UPDATE
    ) l
    WHERE l.status = 'pending'
)
UPDATE messages m SET held = want.held FROM locked, want
WHERE m.pk = locked.pk AND m.held <> want.held
"""


class HoldRepository(Repository):
    def settle(self, tenant_id: str, batch_code: str, limit: int) -> int:
        """Set or clear the flag of up to ``limit`` pending messages of one batch, as the
        tenant's suspension list says now, first in dispatch order (an activation brings the
        first due back first); returns how many changed. Each row is checked again as it is
        written, so two settles of one batch never undo each other."""
        with self.db.statement() as conn:
            return conn.execute(SETTLE_SQL, {"tenant": tenant_id, "batch": batch_code, "limit": limit}).rowcount

    def outstanding(self, limit: int) -> list[Row]:
        """Batches whose flags may still differ from their tenant's list, oldest change first."""
        with self.db.statement() as conn:
            return conn.execute(
                "SELECT tenant_id, batch_code, version FROM hold_changes ORDER BY version LIMIT %s", (limit,)
            ).fetchall()

    def finish(self, tenant_id: str, batch_code: str, version: int) -> None:
        """The batch is settled, unless it was suspended or activated again since ``version``."""
        with self.db.statement() as conn:
            conn.execute(
                "DELETE FROM hold_changes WHERE tenant_id = %s AND batch_code = %s AND version = %s",
                (tenant_id, batch_code, version),
            )
