"""The HTTP glue between Chalice and the services: a route authenticates, parses the body,
query and path, calls its handler with one ``Call``, and maps the one exception tree to
HTTP here, in one place. Known paths answer other methods with API v1's 405."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools import Logger
from chalice.app import Chalice, Request, Response

from chalicelib.domain import json_input, schemas
from chalicelib.domain.answers import Serialized
from chalicelib.domain.schemas import require_query
from chalicelib.errors import (
    ApiError,
    ConfigurationError,
    InfrastructureError,
    KeyMismatch,
    PayloadTooLargeError,
    RequestValidationError,
    UnsupportedMediaError,
)
from chalicelib.services import audit, key_check
from chalicelib.services.auth import Principal, authenticate
from chalicelib.services.ports import Ports
from chalicelib.wiring import get_ports

OPEN, TENANT, ADMIN = "open", "tenant", "admin"
# Chalice answers 415 itself for types outside this list; we accept them all and answer
# API v1's own 415 for anything that is not JSON.
_ANY_TYPE = [
    "application/json",
    "text/plain",
    "text/html",
    "text/xml",
    "application/xml",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "application/octet-stream",
]


@dataclass
class Call:
    """What a route needs from the request, already authenticated and parsed."""

    ports: Ports
    principal: Principal
    body: Any
    query: dict[str, str]
    params: dict[str, str]

    def q(self, name: str) -> str | None:
        return self.query.get(name)

    def tenant_query(self) -> str:
        """The required ``tenant_id`` query parameter (the service scopes it)."""
        return require_query("tenant_id", self.q("tenant_id"))


def refusal(body: Any) -> str:
    """A refused request's reason in short form for the access line: where and what kind for
    a 422, the message otherwise; never a submitted value (a 422's msg can quote one)."""
    try:
        detail = json.loads(body)["detail"] if isinstance(body, str) else None
    except (ValueError, KeyError, TypeError):
        return ""
    if isinstance(detail, list):
        return "; ".join(
            ".".join(str(p) for p in e.get("loc", [])) + f": {e.get('type')}"
            for e in detail[:10]
            if isinstance(e, dict)
        )
    if isinstance(detail, dict):  # add-messages: nothing queued
        return f"{len(detail.get('rejected') or [])} message(s) rejected"
    return str(detail)[:200]


def error_response(status: int, detail: Any) -> Response:
    return Response(
        body=json.dumps({"detail": detail}), status_code=status, headers={"Content-Type": "application/json"}
    )


def _json_body(request: Request, required: bool) -> Any:
    raw = request.raw_body or b""
    if isinstance(raw, str):
        raw = raw.encode()
    if len(raw) > get_ports().settings.max_body_bytes:
        raise PayloadTooLargeError("Request body too large")
    content_type = (request.headers.get("content-type") or "application/json").lower()
    media = content_type.split(";")[0].strip()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaError(f"Unsupported media type: {media}")
    if not raw.strip():
        if required:
            raise RequestValidationError([{"loc": ["body"], "msg": "Field required", "type": "missing"}])
        return {}
    return json_input.parse_body(raw)


def _inputs(request: Request, params: dict[str, str], route: RouteDoc) -> tuple[Any, dict[str, str], dict[str, str]]:
    """The body, path and query, checked against what the route declares, in API v1's order:
    the body's JSON, the path and query's characters, the required query names, the body's
    schema."""
    parsed = _json_body(request, route.body == "required") if route.body != "none" else {}
    # API Gateway (and chalice local) hand path parameters over still percent-encoded
    # (aws/chalice#511); ids are opaque, so decode them once.
    decoded = {k: unquote(v) for k, v in params.items()}
    query = dict(request.query_params or {})
    json_input.check_params("path", decoded)
    json_input.check_params("query", query)
    for name in route.query:
        if name.endswith("!"):
            require_query(name[:-1], query.get(name[:-1]))
    if route.schema is not None:
        schemas.validate(route.schema, parsed)
    return parsed, decoded, query


def _log_command(call: Call | None, command: str, status: int) -> None:
    if call is not None:
        audit.log_command(call.ports, command, status, call.body, call.query, call.params)


def _method_not_allowed_view(path: str) -> Callable[..., Response]:
    def view(**_: str) -> Response:
        return error_response(405, "Method Not Allowed")

    view.__name__ = "method_not_allowed_" + "".join(c if c.isalnum() else "_" for c in path)
    return view


@dataclass(frozen=True)
class RouteDoc:
    """What the API description says of one operation: from the route's own registration."""

    path: str
    method: str
    access: str
    summary: str
    body: str
    schema: dict[str, Any] | None
    query: tuple[str, ...]  # "name!" = required
    command: str | None
    media: str = "application/json"  # what a 200 carries


class Routes:
    """The routes of one Chalice app, the methods each path serves (for the 405s), and
    their descriptions (for /openapi.json: the same schemas the routes validate with)."""

    def __init__(self, app: Chalice, log: Logger) -> None:
        self.app = app
        self.log = log
        self.methods: dict[str, set[str]] = {}
        self.docs: list[RouteDoc] = []

    def _request(self) -> Request:
        request = self.app.current_request
        assert request is not None, "only called while handling a request"
        return request

    def __call__(
        self,
        path: str,
        methods: list[str],
        access: str,
        *,
        body: str = "none",
        command: str | None = None,
        schema: dict[str, Any] | None = None,
        query: tuple[str, ...] = (),
        media: str = "application/json",
    ) -> Callable[[Callable[[Call], Any]], Callable[..., Response]]:
        """Register a route: authenticate, parse, validate, call the handler, map errors in one
        place. What a route declares is what it enforces and what /openapi.json describes:

        - ``body``: "none" (ignored), "optional" or "required" JSON;
        - ``schema``: the body's JSON Schema; a body that does not fit is a 422 naming each
          field, before the handler runs (so before any 403 of the tenant scope, docs/api.md §1);
          the handler's service gets the body as validated and checks it no further;
        - ``query``: its parameters, "name!" when required (missing: a 422 here);
        - ``media``: what its answers carry.
        """

        def register(handler: Callable[[Call], Any]) -> Callable[..., Response]:
            summary = (handler.__doc__ or handler.__name__.replace("_", " ")).strip().splitlines()[0]
            docs = [RouteDoc(path, m, access, summary, body, schema, query, command, media) for m in methods]
            self.docs.extend(docs)
            return self._register(docs[0], methods, handler)

        return register

    def _register(self, route: RouteDoc, methods: list[str], handler: Callable[[Call], Any]) -> Callable[..., Response]:
        path = route.path

        @functools.wraps(handler)
        def view(**params: str) -> Response:
            started = time.perf_counter()
            request = self._request()
            request_id = (request.context or {}).get("requestId")
            self.log.append_keys(request_id=request_id, tenant_id=None)
            response = self._answer(request, params, route, handler)
            # One access line per request: what was asked, for whom, the answer, how long.
            line = {
                "method": request.method,
                "route": path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            }
            if 400 <= response.status_code < 500:
                line["why"] = refusal(response.body)
            self.log.info("request", extra=line)
            self.log.remove_keys(["request_id", "tenant_id"])
            return response

        self.app.route(path, methods=methods, content_types=_ANY_TYPE)(view)
        self.methods.setdefault(path, set()).update(methods)
        return view

    def _answer(
        self, request: Request, params: dict[str, str], route: RouteDoc, handler: Callable[[Call], Any]
    ) -> Response:
        call: Call | None = None
        command = route.command
        try:
            ports = get_ports()
            principal = Principal(None)
            if route.access != OPEN:
                key_check.ensure(ports)
                token = request.headers.get("x-api-token")
                principal = authenticate(ports, token, admin_only=route.access == ADMIN)
            parsed, decoded, query = _inputs(request, params, route)
            tenant_id = principal.tenant_id or decoded.get("tenant_id") or query.get("tenant_id")
            if tenant_id:
                self.log.append_keys(tenant_id=tenant_id)
            call = Call(ports, principal, parsed, query, decoded)
            result = handler(call)
            if isinstance(result, Response):
                return result
            if command:
                _log_command(call, command, 200)
            # A listing measured against Lambda's limit carries its JSON already.
            text = result.text if isinstance(result, Serialized) else json.dumps(result)
            return Response(body=text, status_code=200, headers={"Content-Type": "application/json"})
        except RequestValidationError as exc:
            return error_response(exc.status_code, exc.detail)
        except ApiError as exc:
            if command:
                _log_command(call, command, exc.status_code)
            return error_response(exc.status_code, exc.detail)
        except KeyMismatch as exc:
            # The variable's name helps whoever operates it; no value is ever in the text.
            self.log.error("configuration error: %s", exc)
            return error_response(500, f"Service misconfigured: {exc}")
        except ConfigurationError as exc:
            self.log.error("configuration error: %s", exc)
            return error_response(500, "Service misconfigured")
        except InfrastructureError as exc:
            self.log.error("dependency unavailable: %s", exc)
            return error_response(503, "Service temporarily unavailable")
        except Exception:
            self.log.exception("unhandled error")
            return error_response(500, "Internal Server Error")

    def answer_405(self, extra: dict[str, set[str]]) -> None:
        """Known paths answer other methods with API v1's 405 rather than the gateway's
        own; call once every route is registered (``extra``: paths registered otherwise)."""
        for path, served in [*self.methods.items(), *extra.items()]:
            others = sorted({"GET", "POST", "PUT", "PATCH", "DELETE"} - served)
            if others:
                self.app.route(path, methods=others, content_types=_ANY_TYPE)(_method_not_allowed_view(path))
