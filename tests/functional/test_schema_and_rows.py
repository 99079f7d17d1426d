"""The defaults the services fill in are the ones the migrations declare."""

from __future__ import annotations

from typing import Any

import psycopg

from chalicelib.domain import defaults


def _declared(url: str, table: str) -> dict[str, Any]:
    """Each column's default, evaluated by PostgreSQL itself."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT column_name, column_default FROM information_schema.columns"
            " WHERE table_name = %s AND column_default IS NOT NULL",
            (table,),
        ).fetchall()
        return {
            name: conn.execute(f"SELECT {expr}").fetchone()[0]  # type: ignore[index]
            for name, expr in rows
            if "nextval" not in expr and "now()" not in expr
        }


def test_every_default_written_in_python_is_the_one_the_database_declares(functional_db: str) -> None:
    for table, expected in defaults.TABLES.items():
        declared = _declared(functional_db, table)
        for column, value in expected.items():
            assert declared.get(column) == value, f"{table}.{column}: {declared.get(column)!r} != {value!r}"


def test_every_typed_row_names_exactly_its_tables_columns(functional_db: str) -> None:
    from chalicelib.domain import rows

    with psycopg.connect(functional_db) as conn:
        for table, row_type in rows.TABLES.items():
            columns = {
                r[0]
                for r in conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = %s", (table,)
                )
            }
            declared = set(row_type.__annotations__) - set(getattr(row_type, "__optional_keys__", ()))
            assert declared == columns, f"{table}: only typed {declared - columns}, only stored {columns - declared}"
