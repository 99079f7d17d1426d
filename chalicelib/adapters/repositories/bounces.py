"""The bounce poll's lease and progress, and the bounces it records."""

from __future__ import annotations

from typing import Any, cast

from chalicelib.adapters.repositories.base import INSERT_EVENT, Repository, jsonb
from chalicelib.domain.rows import InstanceRow, Row


class BounceRepository(Repository):
    def take_lease(self, now: float, seconds: float, force: bool) -> InstanceRow | None:
        """Lease the bounce poll when enabled and due (or forced); None otherwise."""
        due = "" if force else " AND (bounce_next_poll_ts IS NULL OR bounce_next_poll_ts <= %(now)s)"
        with self.db.transaction() as conn:
            return cast(
                InstanceRow | None,
                conn.execute(
                    "UPDATE instance_settings SET bounce_lease_until = %(until)s WHERE id = 1 AND bounce_enabled"
                    " AND (bounce_lease_until IS NULL OR bounce_lease_until < %(now)s)" + due + " RETURNING *",
                    {"now": now, "until": now + seconds},
                ).fetchone(),
            )

    def finish_poll(self, last_uid: int | None, uidvalidity: int | None, next_poll: int | None, synced: bool) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE instance_settings SET bounce_lease_until = NULL, bounce_next_poll_ts = %s,"
                " bounce_last_uid = COALESCE(%s, bounce_last_uid),"
                " bounce_uidvalidity = COALESCE(%s, bounce_uidvalidity),"
                " bounce_last_sync = CASE WHEN %s THEN now() ELSE bounce_last_sync END WHERE id = 1",
                (next_poll, last_uid, uidvalidity, synced),
            )

    def poll_now(self) -> None:
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO instance_settings (id) VALUES (1) ON CONFLICT DO NOTHING")
            conn.execute("UPDATE instance_settings SET bounce_next_poll_ts = NULL WHERE id = 1")

    def candidates(self, mail_id: str) -> list[Row]:
        """Sent (or bounced) messages carrying this tracking id, newest first."""
        with self.db.transaction() as conn:
            return conn.execute(
                "SELECT pk, tenant_id, payload, sent_ts FROM messages"
                " WHERE id = %s AND status IN ('sent', 'bounced') ORDER BY sent_ts DESC NULLS LAST",
                (mail_id,),
            ).fetchall()

    def record(self, pk: Any, now: int, bounce_type: str, code: str | None, reason: str | None) -> None:
        meta = {"bounce_type": bounce_type, "bounce_code": code, "bounce_reason": reason}
        with self.db.transaction() as conn:
            row = conn.execute(
                "UPDATE messages SET status = 'bounced', bounce_type = %s, bounce_code = %s,"
                " bounce_reason = %s, bounce_ts = %s, updated_at = now() WHERE pk = %s RETURNING tenant_id",
                (bounce_type, code, reason, now, pk),
            ).fetchone()
            if row is not None:
                conn.execute(
                    INSERT_EVENT + " VALUES (%s, %s, 'bounce', %s, %s, %s)",
                    (pk, row["tenant_id"], now, reason, jsonb(meta)),
                )
