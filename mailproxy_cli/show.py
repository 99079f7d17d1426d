"""What the CLI prints: tables and fields for people, the API's JSON for scripts (--json)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import click

WIDEST = 48  # a cell longer than this is cut, so one long subject cannot break the table


def when(value: Any) -> str:
    """Unix seconds (the API's *_ts) or ISO text (created_at) as UTC, to the second."""
    if value is None or value == "":
        return "-"
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S")
    return str(value).replace("T", " ")[:19]


def cell(value: Any, whole: bool = False) -> str:
    if value is None:
        text = "-"
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, (list, dict)):
        text = json.dumps(value, separators=(",", ":"))
    else:
        text = str(value)
    text = text.replace("\n", " ")
    return text if whole or len(text) <= WIDEST else text[: WIDEST - 1] + "…"


def _timed(column: str, value: Any) -> Any:
    """Times in one format in every table: *_ts (Unix s) and *_at (ISO) columns alike."""
    return when(value) if column.endswith(("_ts", "_at")) and value not in (None, "") else value


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str], empty: str = "(none)", cut_last: bool = True) -> None:
    """Rows under upper-case headings; cells are cut at WIDEST, the last column too unless
    ``cut_last`` is False (a detail or an error people must read whole)."""
    if not rows:
        click.echo(empty)
        return
    last = len(columns) - 1
    cells = [
        [cell(_timed(c, row.get(c)), whole=not cut_last and i == last) for i, c in enumerate(columns)] for row in rows
    ]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    click.echo("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for r in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())


def fields(record: dict[str, Any], order: Sequence[str] = ()) -> None:
    """One record, a field a line, each value whole (a table cuts its cells; this does not)."""
    keys = [k for k in order if k in record] + sorted(k for k in record if k not in order)
    width = max((len(k) for k in keys), default=0)
    for key in keys:
        value = record[key]
        shown = when(value) if key.endswith(("_ts", "_at")) and value is not None else cell(value, whole=True)
        click.echo(f"{key.ljust(width)}  {shown}")


def as_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))


def recipients(value: Any) -> str:
    """A to/cc/bcc value as the API holds it (a string, or a list of strings) for people."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "-" if value is None else str(value)


def sent_when(record: dict[str, Any]) -> str:
    """When a message was sent: never for one that ended in error (API v1 sets its sent_ts to
    the error time, docs/api.md §4.6; people read that as "it was sent")."""
    return "-" if record.get("status") == "error" else when(record.get("sent_ts"))


def timeline(record: dict[str, Any]) -> list[dict[str, Any]]:
    """A message's life in order of when each thing happened: stored, each event of its
    history (a deferral at the time of its attempt, its retry time as ``next_try``)."""
    steps: list[dict[str, Any]] = [
        {
            "at": _ts(record.get("created_at")),
            "when": when(record.get("created_at")),
            "what": "accepted",
            "next_try": "-",
            "detail": f"priority {record.get('priority')}, account {record.get('account_id')}",
        }
    ]
    for event in record.get("history") or []:
        detail = event.get("description") or ""
        metadata = dict(event.get("metadata") or {})
        happened = metadata.pop("attempted_ts", None)
        next_try = "-"
        if event.get("event_type") == "deferred" and happened is not None:
            next_try = when(event.get("event_ts"))
        else:
            happened = event.get("event_ts")
        if metadata:
            detail = f"{detail} {json.dumps(metadata, separators=(',', ':'))}".strip()
        reported = f" (reported {when(event['reported_ts'])})" if event.get("reported_ts") else ""
        steps.append(
            {
                "at": _ts(happened),
                "when": when(happened),
                "what": event.get("event_type"),
                "next_try": next_try,
                "detail": detail + reported,
            }
        )
    # Accepted first whatever the clocks say (created_at has fractions of a second, events not).
    return steps[:1] + sorted(steps[1:], key=lambda step: step["at"])


def _ts(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return 0.0


def status(data: dict[str, Any]) -> None:
    """GET /status for people: the flags, a table of components, then the settings."""
    click.echo(f"active        {cell(data.get('active'))}")
    click.echo(f"aws endpoint  {cell(data.get('aws_endpoint_url'))}")
    click.echo("")
    components = [
        {
            "component": name,
            "healthy": part.get("healthy"),
            "last_tick": when(part["last_tick_ts"]) if part.get("last_tick_ts") else "-",
        }
        for name, part in (data.get("components") or {}).items()
    ]
    table(components, ["component", "healthy", "last_tick"])
    accounts = data.get("accounts") or {}
    if accounts and not accounts.get("healthy", True):
        click.echo(
            f"\n{accounts.get('secret_unreadable')} account(s) cannot send: "
            f"{', '.join(accounts.get('accounts') or [])}\n  {accounts.get('what_to_do', '')}"
        )
    settings = data.get("settings")
    if settings:
        click.echo("")
        rows = [{"setting": k, "value": v if v != "" else "(unset)"} for k, v in sorted(settings.items())]
        table(rows, ["setting", "value"])
