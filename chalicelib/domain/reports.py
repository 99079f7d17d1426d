"""Delivery report rules (docs/api.md §5.10) that need no I/O."""

from __future__ import annotations

import json

from chalicelib.domain.rows import Row

MAX_ENTRIES = 1000
BACKOFF_BASE = 5


def entry(item: Row) -> Row:
    """One report entry; exactly API v1's keys, nulls sent as null."""
    kind = item["event_type"]
    meta = item.get("metadata") or {}
    if kind == "sent":
        return {"id": item["id"], "sent_ts": item["event_ts"]}
    if kind == "error":
        return {"id": item["id"], "error_ts": item["event_ts"], "error": item.get("description")}
    if kind == "unsubscribed":  # extensions (7.3, 7.2): only tenants with report_extensions get them
        return {"id": item["id"], "unsubscribed_ts": item["event_ts"]}
    if kind == "complaint":
        return {"id": item["id"], "complaint_ts": item["event_ts"], "feedback_type": meta.get("feedback_type")}
    if kind == "deferred":
        return {"id": item["id"], "deferred_ts": item["event_ts"], "deferred_reason": item.get("description")}
    return {
        "id": item["id"],
        "bounce_ts": item["event_ts"],
        "bounce_type": meta.get("bounce_type"),
        "bounce_code": meta.get("bounce_code"),
        "bounce_reason": meta.get("bounce_reason"),
    }


def backoff(failures: int, interval: int) -> int:
    """Seconds before resending after the n-th consecutive failure."""
    return int(min(BACKOFF_BASE * 2 ** (failures - 1), interval))


def empty_sync_due(active: bool, clock: float | None, now: float, interval: int) -> bool:
    if not active:
        return False
    if clock is None:
        return True
    return clock <= now and now - clock >= interval


def read_answer(body: bytes) -> tuple[int, float | None]:
    """(queued, next_sync_after) from an optional JSON answer; anything else counts as none."""
    try:
        data = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        return 0, None
    if not isinstance(data, dict):
        return 0, None
    queued = data.get("queued")
    after = data.get("next_sync_after")
    return (
        queued if isinstance(queued, int) and not isinstance(queued, bool) else 0,
        float(after) if isinstance(after, (int, float)) and not isinstance(after, bool) else None,
    )
