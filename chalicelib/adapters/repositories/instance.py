"""The instance's settings row and the scheduler's heartbeats."""

from __future__ import annotations

from typing import cast

from chalicelib.adapters.repositories.base import Repository
from chalicelib.domain.bounces import mailbox_changed
from chalicelib.domain.rows import InstanceRow, Row


class InstanceRepository(Repository):
    def get(self) -> InstanceRow | None:
        with self.db.transaction() as conn:
            return cast(InstanceRow | None, conn.execute("SELECT * FROM instance_settings WHERE id = 1").fetchone())

    def update(self, fields: Row) -> None:
        """Partial update; moving the bounce poll to another mailbox resets its UID state."""
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO instance_settings (id) VALUES (1) ON CONFLICT DO NOTHING")
            if not fields:
                return
            current = conn.execute("SELECT * FROM instance_settings WHERE id = 1 FOR UPDATE").fetchone()
            sets = [f"{k} = %({k})s" for k in fields]
            if mailbox_changed(current, fields):
                sets += ["bounce_last_uid = NULL", "bounce_uidvalidity = NULL"]
            conn.execute(f"UPDATE instance_settings SET {', '.join(sets)}, updated_at = now() WHERE id = 1", fields)

    def key_check(self, sealed: str) -> str:
        """The deployment's key check value: ``sealed`` if none was stored yet (the first
        start), else the one stored then."""
        with self.db.statement() as conn:
            conn.execute("INSERT INTO key_check (id, sealed) VALUES (1, %s) ON CONFLICT DO NOTHING", (sealed,))
            row = conn.execute("SELECT sealed FROM key_check WHERE id = 1").fetchone()
        return str(row["sealed"]) if row else sealed

    def beat(self, name: str, ts: int) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO heartbeats (name, beat_ts) VALUES (%s, %s)"
                " ON CONFLICT (name) DO UPDATE SET beat_ts = EXCLUDED.beat_ts",
                (name, ts),
            )

    def last_beat(self, name: str) -> int | None:
        with self.db.transaction() as conn:
            row = conn.execute("SELECT beat_ts FROM heartbeats WHERE name = %s", (name,)).fetchone()
            return int(row["beat_ts"]) if row else None
