"""make dev's quiet summary: after "stack is up", one line per message that was sent, failed,
deferred or bounced, read from the stack's own database, so a newcomer sees it work without
tailing JSON logs. MAKE_DEV_QUIET=1 turns it off."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg
from psycopg.rows import dict_row

QUERY = (
    "SELECT e.event_id, e.event_ts, e.tenant_id, m.id, e.event_type, e.description"
    " FROM events e JOIN messages m ON m.pk = e.message_pk"
    " WHERE e.event_id > %s ORDER BY e.event_id LIMIT 200"
)


def line(row: dict[str, object]) -> str:
    """``15:30:21  acme  hello-1  sent`` (and why, when it did not go)."""
    when = datetime.fromtimestamp(int(str(row["event_ts"])), UTC).strftime("%H:%M:%S")
    what = str(row["event_type"])
    if what == "deferred":
        what = "deferred, will retry"
    why = f": {row['description']}" if row.get("description") and row["event_type"] != "sent" else ""
    return f"  {when}  {row['tenant_id']}  {row['id']}  {what}{why}"


class OutcomeFeed:
    def __init__(self, database_url: str, say: Callable[[str], None], interval: float = 1.0) -> None:
        self.database_url = database_url
        self.say = say
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outcome-feed", daemon=True)

    def start(self) -> OutcomeFeed:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        last: int | None = None
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.database_url, row_factory=dict_row, connect_timeout=5) as conn:
                    if last is None:  # only what happens from now on
                        row = conn.execute("SELECT coalesce(max(event_id), 0) AS n FROM events").fetchone()
                        last = int(row["n"]) if row else 0
                    while not self._stop.is_set():
                        for row in conn.execute(QUERY, (last,)).fetchall():
                            last = int(row["event_id"])
                            self.say(line(row))
                        conn.commit()
                        self._stop.wait(self.interval)
            except psycopg.Error:  # the database restarting: try again shortly
                time.sleep(self.interval)
