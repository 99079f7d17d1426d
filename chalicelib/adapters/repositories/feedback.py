"""What recipients say back about a message: one-click unsubscribes (7.3), complaints (7.2)."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.repositories.base import Repository, jsonb
from chalicelib.domain.rows import Row

_COLUMN = {"unsubscribed": "unsubscribed_ts", "complaint": "complaint_ts"}


class FeedbackRepository(Repository):
    def message(self, tenant_id: str, message_id: str) -> Row | None:
        """The message with what its tenant decided about suppression and extension reports."""
        with self.db.transaction() as conn:
            return conn.execute(
                "SELECT m.pk, m.tenant_id, m.id, m.payload, m.unsubscribed_ts, m.complaint_ts,"
                " t.suppression_enabled, t.report_extensions"
                " FROM messages m JOIN tenants t ON t.id = m.tenant_id WHERE m.tenant_id = %s AND m.id = %s",
                (tenant_id, message_id),
            ).fetchone()

    def record(self, pk: Any, kind: str, now: int, metadata: Row | None, reported: bool) -> bool:
        """The message's time for ``kind`` and its one event, the first time only. ``reported``:
        the tenant takes no extension entries, so there is nothing to report."""
        column = _COLUMN[kind]
        with self.db.transaction() as conn:
            return (
                conn.execute(
                    f"""
                WITH m AS (
                    UPDATE messages SET {column} = %(now)s, updated_at = now()
                    WHERE pk = %(pk)s AND {column} IS NULL RETURNING pk, tenant_id
                )
                INSERT INTO events (message_pk, tenant_id, event_type, event_ts, description, metadata, reported_ts)
                SELECT pk, tenant_id, %(kind)s, %(now)s, NULL, %(metadata)s, %(reported)s FROM m
                RETURNING event_id
                """,
                    {
                        "pk": pk,
                        "now": now,
                        "kind": kind,
                        "metadata": jsonb(metadata),
                        "reported": now if reported else None,
                    },
                ).fetchone()
                is not None
            )
