"""The API description (docs/api.md §7.6): an OpenAPI 3.1 document built from the
routes' own registrations, the JSON Schemas they validate with and an example of each
(api_examples.py), and the /docs page: Swagger UI, whose two files the API serves itself
from the package (nothing is loaded from elsewhere)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from chalicelib.domain.api_examples import EXAMPLES, INTRODUCTION

_ERROR = {"type": "object", "required": ["detail"], "properties": {"detail": {}}}
_ANSWERS = {
    "400": "Business rule refused",
    "401": "Token missing",
    "403": "Token unknown, or not allowed here",
    "404": "Not found",
    "413": "Body too large",
    "415": "Body is not JSON",
    "422": "Invalid input",
    "503": "A dependency is unavailable; retry later",
}
# Operations grouped on the /docs page by what they act on (first path segment).
_TAGS = {
    "commands": "Messages",
    "messages": "Messages",
    "account": "Accounts",
    "accounts": "Accounts",
    "tenant": "Tenants",
    "tenants": "Tenants",
    "suppressions": "Suppressions and unsubscribe",
    "unsubscribe": "Suppressions and unsubscribe",
    "instance": "Instance",
    "command-log": "Instance",
}
_QUERY_TYPES = {
    "limit": "integer",
    "since": "integer",
    "until": "integer",
    "since_ts": "integer",
    "until_ts": "integer",
    "active_only": "boolean",
    "include_history": "boolean",
}


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
        for name in re.findall(r"\{(\w+)\}", op.path)
    ]
    for raw in op.query:
        name = raw.rstrip("!")
        params.append(
            {
                "name": name,
                "in": "query",
                "required": raw.endswith("!"),
                "schema": {"type": _QUERY_TYPES.get(name, "string")},
            }
        )
    out: dict[str, Any] = {
        "tags": [_TAGS.get(op.path.strip("/").split("/")[0], "Service")],
        "summary": op.summary,
        "operationId": f"{op.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', op.path.lower())}",
        "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
            **{
                code: {"description": text, "content": {"application/json": {"schema": _ERROR}}}
                for code, text in _ANSWERS.items()
            },
        },
    }
    if op.media != "application/json":  # a page for people: its answers, errors too, are pages
        page = {op.media: {"schema": {"type": "string"}}}
        out["responses"]["200"] = {"description": "OK", "content": page}
        out["responses"]["404"] = {"description": "Not found", "content": page}
    example = EXAMPLES.get((op.method.upper(), op.path))
    if example is not None:
        for content in out["responses"]["200"]["content"].values():
            content["example"] = example.answer
        if example.query:
            out["summary"] = f"{op.summary} (e.g. ?{example.query})"
    if params:
        out["parameters"] = params
    if op.access != "open":
        out["security"] = [{"ApiToken": []}]
    if op.body != "none":
        body: dict[str, Any] = {"schema": op.schema or {"type": "object"}}
        if example is not None and example.request is not None:
            body["example"] = example.request
        out["requestBody"] = {"required": op.body == "required", "content": {"application/json": body}}
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
        for method, op in methods.items():
            described = json.loads(json.dumps(op))  # a copy: the caller's stays as it is
            example = EXAMPLES.get((method.upper(), path))
            if example is not None:
                for content in described["responses"]["200"]["content"].values():
                    content["example"] = example.answer
            paths.setdefault(path, {})[method] = described
    return {
        "openapi": "3.1.0",
        "info": {"title": "Mail Proxy API", "version": version, "description": INTRODUCTION},
        "components": {"securitySchemes": {"ApiToken": {"type": "apiKey", "in": "header", "name": "X-API-Token"}}},
        "paths": dict(sorted(paths.items())),
    }


SWAGGER_ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "application/javascript; charset=utf-8",
}


def render(doc: Mapping[str, Any]) -> str:
    """The /docs page: Swagger UI over openapi.json, its files from this API (relative URLs,
    so the page works under API Gateway's stage prefix too); no validator badge, which
    Swagger UI would otherwise fetch from the internet."""
    title = html.escape(doc["info"]["title"])
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<title>{title}</title><meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="stylesheet" href="docs/swagger-ui.css"></head><body>'
        f"<noscript><h1>{title}</h1><p>This page needs JavaScript; the description itself is "
        '<a href="openapi.json">openapi.json</a> (OpenAPI 3.1).</p></noscript>'
        '<div id="swagger-ui"></div><script src="docs/swagger-ui-bundle.js"></script>'
        '<script>window.ui = SwaggerUIBundle({url: "openapi.json", dom_id: "#swagger-ui", '
        'deepLinking: true, docExpansion: "list", defaultModelsExpandDepth: -1, validatorUrl: null, '
        "displayRequestDuration: true, persistAuthorization: false});</script></body></html>"
    )
