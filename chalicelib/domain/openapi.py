"""The API description (docs/api.md §7.6): an OpenAPI 3.1 document built from the
routes' own registrations and the JSON Schemas they validate with, and an HTML rendering
of it that needs nothing but itself (no script, no CDN)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

_ERROR = {"type": "object", "required": ["detail"], "properties": {"detail": {}}}
_ANSWERS = {
    "400": "Business rule refused", "401": "Token missing", "403": "Token unknown, or not allowed here",
    "404": "Not found", "413": "Body too large", "415": "Body is not JSON", "422": "Invalid input",
    "503": "A dependency is unavailable; retry later",
}
_QUERY_TYPES = {"limit": "integer", "since": "integer", "until": "integer", "since_ts": "integer",
                "until_ts": "integer", "active_only": "boolean", "include_history": "boolean"}


class Operation(Protocol):
    """One registered route (http_api.RouteDoc), read-only."""

    @property
    def path(self) -> str: ...
    @property
    def method(self) -> str: ...
    @property
    def access(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def schema(self) -> dict[str, Any] | None: ...
    @property
    def query(self) -> tuple[str, ...]: ...
    @property
    def command(self) -> str | None: ...

    @property
    def media(self) -> str: ...


def _operation(op: Operation) -> dict[str, Any]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"\{(\w+)\}", op.path)]
    for raw in op.query:
        name = raw.rstrip("!")
        params.append({"name": name, "in": "query", "required": raw.endswith("!"),
                       "schema": {"type": _QUERY_TYPES.get(name, "string")}})
    out: dict[str, Any] = {
        "summary": op.summary, "operationId": f"{op.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', op.path.lower())}",
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
                      **{code: {"description": text, "content": {"application/json": {"schema": _ERROR}}}
                         for code, text in _ANSWERS.items()}},
    }
    if op.media != "application/json":   # a page for people: its answers, errors too, are pages
        page = {op.media: {"schema": {"type": "string"}}}
        out["responses"]["200"] = {"description": "OK", "content": page}
        out["responses"]["404"] = {"description": "Not found", "content": page}
    if params:
        out["parameters"] = params
    if op.access != "open":
        out["security"] = [{"ApiToken": []}]
    if op.body != "none":
        out["requestBody"] = {"required": op.body == "required", "content": {
            "application/json": {"schema": op.schema or {"type": "object"}}}}
    if op.command:
        out["x-command-log"] = op.command
    if op.access == "admin":
        out["description"] = "Admin token only."
    return out


def document(operations: Iterable[Operation], extra: Mapping[str, Mapping[str, Any]], version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    for path, methods in extra.items():
        paths.setdefault(path, {}).update(methods)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Mail Proxy API", "version": version,
                 "description": "Multi-tenant email dispatch: API v1 and its extensions."},
        "components": {"securitySchemes": {"ApiToken": {"type": "apiKey", "in": "header", "name": "X-API-Token"}}},
        "paths": dict(sorted(paths.items())),
    }


def render(doc: Mapping[str, Any]) -> str:
    """The document as one HTML page: every operation, its parameters and its body schema."""
    parts = []
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            params = "".join(f"<li><code>{html.escape(p['name'])}</code> ({p['in']}"
                             f"{', required' if p.get('required') else ''})</li>" for p in op.get("parameters", []))
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            parts.append(
                f'<section id="{html.escape(op.get("operationId", ""))}"><h2><code>{method.upper()} '
                f'{html.escape(path)}</code></h2><p>{html.escape(op.get("summary", ""))}'
                f'{" — " + html.escape(op["description"]) if op.get("description") else ""}</p>'
                + (f"<h3>Parameters</h3><ul>{params}</ul>" if params else "")
                + (f"<h3>Body</h3><pre>{html.escape(json.dumps(body, indent=2))}</pre>" if body else "")
                + "</section>")
    return ('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Mail Proxy API</title>'
            '<meta name="viewport" content="width=device-width, initial-scale=1"><style>'
            "body{font:1rem/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
            "pre{background:#f4f4f4;padding:.75rem;overflow:auto}section{border-top:1px solid #ddd}"
            f'</style></head><body><main><h1>{html.escape(doc["info"]["title"])}</h1>'
            '<p>The machine-readable description: <a href="openapi.json">openapi.json</a> (OpenAPI 3.1).</p>'
            + "".join(parts) + "</main></body></html>")
