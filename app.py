"""Mail Proxy HTTP API (contract v1): routes only; each parses, calls one service, answers."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from chalice import Chalice, Response
from chalice.app import Request

from chalicelib.config import get_settings
from chalicelib.domain import json_input
from chalicelib.domain.schemas import parse_bool, require_query
from chalicelib.errors import (
    ApiError,
    ConfigurationError,
    InfrastructureError,
    PayloadTooLargeError,
    RequestValidationError,
    UnsupportedMediaError,
)
from chalicelib.services import accounts, admin, audit, control, messages, observability, submit, tenants
from chalicelib.services.auth import Principal, authenticate
from chalicelib.services.ports import Ports
from chalicelib.wiring import get_ports

app = Chalice(app_name="mail-proxy")
# Cold start: read and check the configuration now, so bad values stop start-up.
get_settings()
app.log.setLevel(logging.INFO)

OPEN, TENANT, ADMIN = "open", "tenant", "admin"
# Chalice answers 415 itself for types outside this list; we accept them all and answer
# the contract's own 415 for anything that is not JSON.
_ANY_TYPE = [
    "application/json", "text/plain", "text/html", "text/xml", "application/xml",
    "application/x-www-form-urlencoded", "multipart/form-data", "application/octet-stream",
]
_METHODS: dict[str, set[str]] = {}  # path -> methods served, for the 405 answers


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


def _error(status: int, detail: Any) -> Response:
    return Response(body=json.dumps({"detail": detail}), status_code=status,
                    headers={"Content-Type": "application/json"})


def _request() -> Request:
    request = app.current_request
    assert request is not None, "only called while handling a request"
    return request


def _json_body(required: bool) -> Any:
    request = _request()
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
            raise RequestValidationError(
                [{"loc": ["body"], "msg": "Field required", "type": "missing"}]
            )
        return {}
    return json_input.parse_body(raw)


def _log_command(call: Call | None, command: str, status: int) -> None:
    if call is not None:
        audit.record(call.ports, command, status, call.body, call.query, call.params)


def api(
    path: str, methods: list[str], access: str, *, body: str = "none", command: str | None = None
) -> Callable[[Callable[[Call], Any]], Callable[..., Response]]:
    """Register a route: authenticate, parse, call the handler, map errors in one place.

    ``body``: "none" (ignored), "optional" or "required" JSON.
    """

    def decorate(handler: Callable[[Call], Any]) -> Callable[..., Response]:
        @functools.wraps(handler)
        def view(**params: str) -> Response:
            call: Call | None = None
            request = _request()
            try:
                ports = get_ports()
                principal = Principal(None)
                if access != OPEN:
                    token = request.headers.get("x-api-token")
                    principal = authenticate(ports, token, admin_only=access == ADMIN)
                parsed = _json_body(body == "required") if body != "none" else {}
                # API Gateway (and chalice local) hand path parameters over still
                # percent-encoded (aws/chalice#511); ids are opaque, so decode them once.
                decoded = {k: unquote(v) for k, v in params.items()}
                query = dict(request.query_params or {})
                json_input.check_params("path", decoded)
                json_input.check_params("query", query)
                call = Call(ports, principal, parsed, query, decoded)
                result = handler(call)
                if isinstance(result, Response):
                    return result
                if command:
                    _log_command(call, command, 200)
                return Response(body=json.dumps(result), status_code=200,
                                headers={"Content-Type": "application/json"})
            except RequestValidationError as exc:
                return _error(exc.status_code, exc.detail)
            except ApiError as exc:
                if command:
                    _log_command(call, command, exc.status_code)
                return _error(exc.status_code, exc.detail)
            except ConfigurationError as exc:
                app.log.error("configuration error: %s", exc)
                return _error(500, "Service misconfigured")
            except InfrastructureError as exc:
                app.log.error("dependency unavailable: %s", exc)
                return _error(503, "Service temporarily unavailable")

        app.route(path, methods=methods, content_types=_ANY_TYPE)(view)
        _METHODS.setdefault(path, set()).update(methods)
        return view

    return decorate


# ------------------------------------------------------------------ service (3.1)
@api("/health", ["GET"], OPEN)
def health(call: Call) -> dict[str, Any]:
    return {"status": "ok"}


@app.route("/metrics", methods=["GET"])
def metrics() -> Response:
    try:
        text = observability.metrics_text(get_ports())
    except InfrastructureError as exc:
        app.log.error("metrics unavailable: %s", exc)
        return _error(503, "Service temporarily unavailable")
    return Response(body=text, status_code=200,
                    headers={"Content-Type": observability.CONTENT_TYPE})


@api("/status", ["GET"], TENANT)
def status(call: Call) -> dict[str, Any]:
    return observability.status(call.ports)


# ------------------------------------------------------------------ commands (3.2)
@api("/commands/run-now", ["POST"], TENANT)
def run_now(call: Call) -> dict[str, Any]:
    return control.run_now(call.ports, call.principal, call.q("tenant_id"))


@api("/commands/suspend", ["POST"], TENANT, command="suspend")
def suspend(call: Call) -> dict[str, Any]:
    return control.suspend(call.ports, call.principal, call.tenant_query(), call.q("batch_code"))


@api("/commands/activate", ["POST"], TENANT, command="activate")
def activate(call: Call) -> dict[str, Any]:
    return control.activate(call.ports, call.principal, call.tenant_query(), call.q("batch_code"))


@api("/commands/add-messages", ["POST"], TENANT, body="required", command="addMessages")
def add_messages(call: Call) -> dict[str, Any]:
    return submit.add_messages(call.ports, call.principal, call.body)


@api("/commands/delete-messages", ["POST"], TENANT, body="optional", command="deleteMessages")
def delete_messages(call: Call) -> dict[str, Any]:
    return messages.delete_messages(call.ports, call.principal, call.tenant_query(), call.body)


@api("/commands/cleanup-messages", ["POST"], TENANT, body="required", command="cleanupMessages")
def cleanup_messages(call: Call) -> dict[str, Any]:
    return messages.cleanup_messages(call.ports, call.principal, call.tenant_query(), call.body)


# ------------------------------------------------------------------ accounts (3.3)
@api("/account", ["POST"], TENANT, body="required", command="addAccount")
def add_account(call: Call) -> dict[str, Any]:
    return accounts.upsert(call.ports, call.principal, call.body)


@api("/accounts", ["GET"], TENANT)
def list_accounts(call: Call) -> dict[str, Any]:
    return accounts.list_for(call.ports, call.principal, call.tenant_query())


@api("/account/{account_id}", ["DELETE"], TENANT, command="deleteAccount")
def delete_account(call: Call) -> dict[str, Any]:
    return accounts.delete(call.ports, call.principal, call.tenant_query(), call.params["account_id"])


# ------------------------------------------------------------------ messages (3.4)
@api("/messages", ["GET"], TENANT)
def list_messages(call: Call) -> dict[str, Any]:
    tenant_id = call.tenant_query()
    active_only = parse_bool("active_only", call.q("active_only"), False)
    history = parse_bool("include_history", call.q("include_history"), False)
    return messages.list_messages(call.ports, call.principal, tenant_id, active_only, history)


# ------------------------------------------------------------------ tenants (3.5)
@api("/tenant", ["POST"], ADMIN, body="required", command="addTenant")
def add_tenant(call: Call) -> dict[str, Any]:
    return tenants.create_or_replace(call.ports, call.principal, call.body)


@api("/tenants", ["GET"], ADMIN)
def list_tenants(call: Call) -> dict[str, Any]:
    return tenants.list_all(call.ports, call.principal, parse_bool("active_only", call.q("active_only"), False))


@api("/tenants/sync-status", ["GET"], ADMIN)
def sync_status(call: Call) -> dict[str, Any]:
    return tenants.sync_status(call.ports, call.principal)


@api("/tenant/{tenant_id}", ["GET"], TENANT)
def get_tenant(call: Call) -> dict[str, Any]:
    return tenants.get(call.ports, call.principal, call.params["tenant_id"])


@api("/tenant/{tenant_id}", ["PUT"], TENANT, body="required", command="updateTenant")
def update_tenant(call: Call) -> dict[str, Any]:
    return tenants.update(call.ports, call.principal, call.params["tenant_id"], call.body)


@api("/tenant/{tenant_id}", ["DELETE"], ADMIN, command="deleteTenant")
def delete_tenant(call: Call) -> dict[str, Any]:
    return tenants.delete(call.ports, call.principal, call.params["tenant_id"])


@api("/tenant/{tenant_id}/api-key", ["POST"], ADMIN, body="optional")
def rotate_api_key(call: Call) -> dict[str, Any]:
    return tenants.rotate_key(call.ports, call.principal, call.params["tenant_id"], call.body)


@api("/tenant/{tenant_id}/api-key", ["DELETE"], ADMIN)
def revoke_api_key(call: Call) -> dict[str, Any]:
    return tenants.revoke_key(call.ports, call.principal, call.params["tenant_id"])


@api("/tenant/{tenant_id}/signing-secret", ["POST"], ADMIN)
def new_signing_secret(call: Call) -> dict[str, Any]:
    return tenants.new_signing_secret(call.ports, call.principal, call.params["tenant_id"])


# ------------------------------------------------------------------ instance (3.6)
@api("/instance", ["GET"], ADMIN)
def get_instance(call: Call) -> dict[str, Any]:
    return admin.instance_info(call.ports, call.principal)


@api("/instance", ["PUT"], ADMIN, body="required")
def put_instance(call: Call) -> dict[str, Any]:
    return admin.update_instance(call.ports, call.principal, call.body)


@api("/instance/reload-bounce", ["POST"], ADMIN)
def reload_bounce(call: Call) -> dict[str, Any]:
    return admin.reload_bounce(call.ports, call.principal)


# ------------------------------------------------------------------ command log (3.7)
@api("/command-log", ["GET"], ADMIN)
def command_log(call: Call) -> dict[str, Any]:
    return admin.command_log(call.ports, call.principal, call.query)


@api("/command-log/export", ["GET"], ADMIN)
def command_log_export(call: Call) -> dict[str, Any]:
    return admin.command_log_export(call.ports, call.principal, call.query)


def _method_not_allowed_view(path: str) -> Callable[..., Response]:
    def view(**_: str) -> Response:
        return _error(405, "Method Not Allowed")

    view.__name__ = "method_not_allowed_" + "".join(c if c.isalnum() else "_" for c in path)
    return view


# Known paths answer other methods with the contract's 405 rather than the gateway's own.
for _path, _served in [*_METHODS.items(), ("/metrics", {"GET"})]:
    _others = sorted({"GET", "POST", "PUT", "PATCH", "DELETE"} - _served)
    if _others:
        app.route(_path, methods=_others, content_types=_ANY_TYPE)(_method_not_allowed_view(_path))
