"""Finding messages (docs/api.md §7.5), pure: the filters a query names, and the
opaque cursor of keyset pages in the v1 order (priority, created_at, id)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.domain import cursors, schemas
from chalicelib.errors import RequestValidationError

STATUSES = ("pending", "deferred", "suspended", "sent", "error", "bounced")
MAX_LIMIT = 1000


@dataclass(frozen=True)
class Query:
    status: str | None = None
    batch_code: str | None = None
    account_id: str | None = None
    since: int | None = None
    until: int | None = None
    q: str | None = None
    limit: int | None = None  # a page was asked for (limit or cursor)
    after: tuple[int, str, str] | None = None  # (priority, created_at ISO, id) of the last row seen

    @property
    def paged(self) -> bool:
        return self.limit is not None or self.after is not None


def _bad(name: str, msg: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ["query", name], "msg": msg, "type": "value_error"}])


def cursor(row: dict[str, Any]) -> str:
    created: datetime = row["created_at"]
    return cursors.encode([row["priority"], created.isoformat(), row["id"]])


def _after(value: str) -> tuple[int, str, str]:
    try:
        priority, created, message_id = cursors.decode(value)  # type: ignore[misc]
        when = datetime.fromisoformat(created)
        if (
            isinstance(priority, int)
            and not isinstance(priority, bool)
            and 0 <= priority <= 3
            and isinstance(message_id, str)
            and when.tzinfo is not None
        ):
            return priority, when.isoformat(), message_id  # re-written: the database reads this form
    except (ValueError, TypeError):
        pass
    raise _bad("cursor", "Invalid cursor")


def read(query: dict[str, str]) -> Query:
    """The filters of a GET /messages query string; 422 naming a bad one."""
    status = query.get("status")
    if status is not None and status not in STATUSES:
        raise _bad("status", f"Input should be one of {', '.join(STATUSES)}")
    cursor_value = query.get("cursor")
    return Query(
        status=status,
        batch_code=query.get("batch_code"),
        account_id=query.get("account_id"),
        # Unix seconds the database can hold as a timestamp: 1970 to 9999.
        since=schemas.parse_int("since", query.get("since"), 0, schemas.MAX_TS),
        until=schemas.parse_int("until", query.get("until"), 0, schemas.MAX_TS),
        q=(query.get("q") or "").strip() or None,
        limit=schemas.parse_int("limit", query.get("limit"), 1, MAX_LIMIT),
        after=_after(cursor_value) if cursor_value is not None else None,
    )
