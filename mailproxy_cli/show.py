"""What the CLI prints: tables and fields for people, the API's JSON for scripts (--json)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import click

WIDEST = 48   # a cell longer than this is cut, so one long subject cannot break the table


def when(value: Any) -> str:
    """Unix seconds (the API's *_ts) or ISO text (created_at) as UTC, to the second."""
    if value is None or value == "":
        return "-"
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S")
    return str(value).replace("T", " ")[:19]


def cell(value: Any) -> str:
    if value is None:
        text = "-"
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, (list, dict)):
        text = json.dumps(value, separators=(",", ":"))
    else:
        text = str(value)
    text = text.replace("\n", " ")
    return text if len(text) <= WIDEST else text[: WIDEST - 1] + "…"


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str], empty: str = "(none)") -> None:
    if not rows:
        click.echo(empty)
        return
    cells = [[cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    click.echo("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for r in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())


def fields(record: dict[str, Any], order: Sequence[str] = ()) -> None:
    keys = [k for k in order if k in record] + sorted(k for k in record if k not in order)
    width = max((len(k) for k in keys), default=0)
    for key in keys:
        value = record[key]
        shown = when(value) if key.endswith("_ts") and value is not None else cell(value)
        click.echo(f"{key.ljust(width)}  {shown}")


def as_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))


def timeline(record: dict[str, Any]) -> list[dict[str, Any]]:
    """A message's life in order: stored, each event of its history, where it stands now."""
    steps: list[dict[str, Any]] = [{"when": when(record.get("created_at")), "what": "accepted",
                                    "detail": f"priority {record.get('priority')}, "
                                              f"account {record.get('account_id')}"}]
    for event in record.get("history") or []:
        detail = event.get("description") or ""
        metadata = event.get("metadata") or {}
        if metadata:
            detail = f"{detail} {cell(metadata)}".strip()
        reported = f" (reported {when(event['reported_ts'])})" if event.get("reported_ts") else ""
        steps.append({"when": when(event.get("event_ts")), "what": event.get("event_type"),
                      "detail": detail + reported})
    return steps


def status(data: dict[str, Any]) -> None:
    """GET /status for people: the flags, a table of components, then the settings."""
    click.echo(f"active        {cell(data.get('active'))}")
    click.echo(f"aws endpoint  {cell(data.get('aws_endpoint_url'))}")
    click.echo("")
    components = [{"component": name, "healthy": part.get("healthy"),
                   "last_tick": when(part["last_tick_ts"]) if part.get("last_tick_ts") else "-"}
                  for name, part in (data.get("components") or {}).items()]
    table(components, ["component", "healthy", "last_tick"])
    settings = data.get("settings")
    if settings:
        click.echo("")
        rows = [{"setting": k, "value": v if v != "" else "(unset)"} for k, v in sorted(settings.items())]
        table(rows, ["setting", "value"])
