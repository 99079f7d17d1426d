"""The pool's connection check against a real PostgreSQL: a connection used moments ago is
handed out without a round trip, yet a restart costs no transaction, because a connection
the server closed has something to read; one idle a while is always checked."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool

from chalicelib.adapters import database
from chalicelib.adapters.database import Database
from devstack.postgres import PostgresCluster
from tests.support.polling import eventually


def _count(db: Database) -> int:
    with db.transaction() as conn:
        row = conn.execute("SELECT count(*) AS n FROM pg_stat_activity").fetchone()
    return int(row["n"]) if row else 0


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    seen: list[Any] = []
    original = ConnectionPool.check_connection

    def counting(conn: Any) -> None:
        seen.append(conn)
        original(conn)

    monkeypatch.setattr(ConnectionPool, "check_connection", staticmethod(counting))
    return seen


def test_a_connection_used_moments_ago_is_not_checked_and_a_restart_still_costs_nothing(
    pg: PostgresCluster, monkeypatch: pytest.MonkeyPatch, checks: list[Any]
) -> None:
    monkeypatch.setattr(database, "FRESH_SECONDS", 3600.0)
    db = Database(pg.url, max_size=1)
    try:
        for _ in range(5):
            assert _count(db) >= 1
        assert len(checks) <= 1, "only the first checkout of the new connection is checked"
        pg.restart()
        assert _count(db) >= 1, "the closed connection was noticed, checked and replaced"
        assert len(checks) >= 2
    finally:
        db.close()


def test_a_connection_idle_a_while_is_checked(
    pg: PostgresCluster, monkeypatch: pytest.MonkeyPatch, checks: list[Any]
) -> None:
    monkeypatch.setattr(database, "FRESH_SECONDS", 0.0)  # every connection counts as idle
    db = Database(pg.url, max_size=1)
    try:
        for _ in range(3):
            assert _count(db) >= 1
        assert len(checks) == 3
    finally:
        db.close()


def test_no_statement_is_ever_prepared_on_the_server(pg: PostgresCluster) -> None:
    """A server-side prepared statement pins a client to one backend through RDS Proxy; psycopg
    prepares a query after five runs unless told not to."""
    db = Database(pg.url, max_size=1)
    try:
        for _ in range(10):
            with db.statement() as conn:
                conn.execute("SELECT %s::int AS n", (1,)).fetchone()
        with db.statement() as conn:
            assert conn.prepare_threshold is None
            assert conn.execute("SELECT count(*) AS n FROM pg_prepared_statements").fetchone() == {"n": 0}
    finally:
        db.close()


def test_runs_that_first_use_the_database_at_once_share_one_pool(
    pg: PostgresCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cold dispatch environment starts its batch's runs side by side, and each one's first
    statement opens the pool. Each extra pool would hold connections the database budget
    (limits.database_budget) never counted, until garbage collection closed it from one of its
    own threads (seen as "cannot join current thread" in the functional tier)."""
    made: list[int] = []
    asked: list[int] = []
    get_pool = Database._get_pool

    def asking(self: Database) -> ConnectionPool:
        asked.append(1)
        return get_pool(self)

    class OpensWhenAllHaveAsked(ConnectionPool):
        """The first pool is opened only once every run has asked for one: the widest race."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            made.append(1)
            eventually(lambda: len(asked) == 8, what="all eight runs asking for the pool")
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(Database, "_get_pool", asking)
    monkeypatch.setattr(database, "ConnectionPool", OpensWhenAllHaveAsked)
    name = f"first-use-{uuid.uuid4().hex[:8]}"
    db = Database(make_conninfo(pg.url, application_name=name), max_size=2)
    start = threading.Barrier(8)

    def first_statement() -> None:
        start.wait()
        with db.statement() as conn:
            conn.execute("SELECT 1")

    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: first_statement(), range(8)))
        assert len(made) == 1, f"{len(made)} pools opened for one database"
        assert _connections(pg, name) <= 2
    finally:
        db.close()
    eventually(lambda: _connections(pg, name) == 0, what="the pool's connections closed")


def _connections(pg: PostgresCluster, application_name: str) -> int:
    with psycopg.connect(pg.url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (application_name,)
        ).fetchone()
    return int(row[0]) if row else 0
