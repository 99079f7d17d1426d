"""PostgreSQL access: a lazily opened connection pool and the numbered migrations."""

from __future__ import annotations

import logging
import re
import select
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from chalicelib.errors import DatabaseError

log = logging.getLogger(__name__)

_MIGRATION = re.compile(r"^(\d{3,})_[a-z0-9_]+\.sql$")
_MIGRATION_LOCK = 7_300_917  # pg_advisory_lock key: one migrator at a time


# A connection back in the pool less than this long ago is handed out unchecked.
FRESH_SECONDS = 2.0


class _Freshness:
    """The pool's check, with a round trip only when it may be needed. Checking every checkout
    cost a round trip per transaction (four or five per add-messages call). An idle connection
    has nothing to read: if its socket is readable, the server has closed it or said why (a
    restart, a termination) and it gets the full check, as does one idle longer than
    FRESH_SECONDS (between Lambda invocations, say); otherwise it is handed out unchecked."""

    def __init__(self) -> None:
        self._returned: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def check(self, conn: Any) -> None:
        with self._lock:
            returned = self._returned.get(conn)
        recent = returned is not None and time.monotonic() - returned < FRESH_SECONDS
        if not recent or _readable(conn):
            ConnectionPool.check_connection(conn)

    def returned(self, conn: Any) -> None:
        with self._lock:
            self._returned[conn] = time.monotonic()


def _readable(conn: Any) -> bool:
    try:
        ready, _, _ = select.select([conn.fileno()], [], [], 0)
    except (OSError, ValueError, psycopg.Error):
        return True
    return bool(ready)


class Database:
    """A small pool; opened on first use so that importing costs nothing at cold start."""

    def __init__(self, url: str, max_size: int = 4) -> None:
        self._url = url
        self._max_size = max_size
        self._pool: ConnectionPool | None = None
        # A dispatch environment's first runs start side by side, in threads: without the lock
        # each could open a pool of its own, whose connections no budget counts.
        self._opening = threading.Lock()

    def _get_pool(self) -> ConnectionPool:
        pool = self._pool
        if pool is not None:
            return pool
        with self._opening:
            if self._pool is None:
                self._pool = self._open()
            return self._pool

    def _open(self) -> ConnectionPool:
        freshness = _Freshness()
        return ConnectionPool(
            self._url,
            min_size=1,
            max_size=self._max_size,
            # prepare_threshold None: never a server-side prepared statement. Through RDS
            # Proxy one pins the client to a backend for the session, which defeats the
            # multiplexing limits.database_budget relies on; the parse it saves is small
            # beside a round trip (make bench measures both).
            kwargs={"row_factory": dict_row, "autocommit": False, "prepare_threshold": None},
            # A pooled connection may have died with a database restart: checked when
            # it has been idle a while (_Freshness).
            check=freshness.check,
            reset=freshness.returned,
            open=True,
            timeout=15,
        )

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        """One transaction: committed on success, rolled back on any exception."""
        try:
            with self._get_pool().connection() as conn:
                yield conn  # type: ignore[misc]  # the pool's row_factory is dict_row
        except psycopg.OperationalError as exc:
            raise DatabaseError(f"database unavailable: {exc}") from exc

    @contextmanager
    def statement(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        """For work that is one statement (atomic by itself) or reads that need no common
        snapshot: autocommit, so no BEGIN and COMMIT round trips around it (a transaction
        costs three round trips for one statement)."""
        try:
            with self._get_pool().connection() as conn:
                conn.autocommit = True
                try:
                    yield conn  # type: ignore[misc]  # the pool's row_factory is dict_row
                finally:
                    if not conn.closed:
                        conn.autocommit = False
        except psycopg.OperationalError as exc:
            raise DatabaseError(f"database unavailable: {exc}") from exc

    def ping(self) -> bool:
        try:
            with self.transaction() as conn:
                conn.execute("SELECT 1")
            return True
        except Exception:  # noqa: BLE001 - health check reports, never raises
            return False

    def close(self) -> None:
        with self._opening:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def migrate(self, connect_timeout: int = 10) -> list[str]:
        """Apply the numbered SQL files not yet recorded; returns the names applied."""
        applied: list[str] = []
        with psycopg.connect(self._url, autocommit=True, connect_timeout=connect_timeout) as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
            try:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
                )
                done = {r[0] for r in conn.execute("SELECT name FROM schema_migrations")}
                for name, sql in migrations():
                    if name in done:
                        continue
                    with conn.transaction():
                        conn.execute(sql)  # a trusted file of ours, not a tenant's string
                        conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (name,))
                    log.info("applied migration %s", name)
                    applied.append(name)
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))
        return applied


def migrations() -> list[tuple[str, str]]:
    """The packaged migrations, in number order."""
    files = resources.files("chalicelib") / "sql"
    found = []
    for entry in files.iterdir():
        if _MIGRATION.match(entry.name):
            found.append((entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda item: int(item[0].split("_", 1)[0]))
