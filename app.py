"""Mail Proxy HTTP API (API v1, docs/api.md): routes only; each parses, calls one service, answers.

The glue (authentication, parsing, error mapping, 405s) is chalicelib/http_api.py."""

from __future__ import annotations

from typing import Any

from chalice.app import Chalice, Response

from chalicelib import VERSION, limits
from chalicelib.adapters import assets
from chalicelib.adapters.logs import json_logger
from chalicelib.config import get_settings
from chalicelib.domain import finding, openapi, schemas
from chalicelib.domain.schemas import parse_bool
from chalicelib.errors import ApiError, InfrastructureError
from chalicelib.http_api import ADMIN, OPEN, TENANT, Call, Routes, error_response
from chalicelib.services import (
    accounts,
    admin,
    control,
    messages,
    observability,
    submit,
    suppressions,
    tenants,
    unsubscribe,
)
from chalicelib.wiring import get_ports

app = Chalice(app_name="mail-proxy")
# Cold start: read and check the configuration now, so bad values stop start-up.
get_settings()
log = json_logger("mail-proxy-api")  # JSON lines, one access line per request
api = Routes(app, log)


# ------------------------------------------------------------------ service (3.1)
@api("/health", ["GET"], OPEN)
def health(call: Call) -> dict[str, Any]:
    return {"status": "ok"}


@app.route("/metrics", methods=["GET"])
def metrics() -> Response:
    given = app.current_request.query_params if app.current_request else None
    query = {k: given[k] for k in given} if given else {}
    try:
        shard, shards = observability.shard_of(query)
        text = observability.metrics_text(get_ports(), shard, shards)
    except ApiError as exc:
        return error_response(exc.status_code, exc.detail)
    except InfrastructureError as exc:
        log.error("metrics unavailable: %s", exc)
        return error_response(503, "Service temporarily unavailable")
    return Response(body=text, status_code=200, headers={"Content-Type": observability.CONTENT_TYPE})


@api("/status", ["GET"], TENANT)
def status(call: Call) -> dict[str, Any]:
    return observability.status(call.ports, call.principal)


# ------------------------------------------------------------------ commands (3.2)
@api("/commands/run-now", ["POST"], TENANT, query=("tenant_id",))
def run_now(call: Call) -> dict[str, Any]:
    return control.run_now(call.ports, call.principal, call.q("tenant_id"))


@api("/commands/suspend", ["POST"], TENANT, command="suspend", query=("tenant_id!", "batch_code"))
def suspend(call: Call) -> dict[str, Any]:
    return control.suspend(call.ports, call.principal, call.tenant_query(), call.q("batch_code"))


@api("/commands/activate", ["POST"], TENANT, command="activate", query=("tenant_id!", "batch_code"))
def activate(call: Call) -> dict[str, Any]:
    return control.activate(call.ports, call.principal, call.tenant_query(), call.q("batch_code"))


@api("/commands/add-messages", ["POST"], TENANT, body="required", command="addMessages", schema=schemas.ADD_MESSAGES)
def add_messages(call: Call) -> dict[str, Any]:
    return submit.add_messages(call.ports, call.principal, call.body)


@api(
    "/commands/delete-messages",
    ["POST"],
    TENANT,
    body="optional",
    command="deleteMessages",
    schema=schemas.DELETE_MESSAGES,
    query=("tenant_id!",),
)
def delete_messages(call: Call) -> dict[str, Any]:
    return messages.delete_messages(call.ports, call.principal, call.tenant_query(), call.body)


@api(
    "/commands/cleanup-messages",
    ["POST"],
    TENANT,
    body="required",
    command="cleanupMessages",
    schema=schemas.CLEANUP,
    query=("tenant_id!",),
)
def cleanup_messages(call: Call) -> dict[str, Any]:
    return messages.cleanup_messages(call.ports, call.principal, call.tenant_query(), call.body)


# ------------------------------------------------------------------ accounts (3.3)
@api("/account", ["POST"], TENANT, body="required", command="addAccount", schema=schemas.ACCOUNT)
def add_account(call: Call) -> dict[str, Any]:
    return accounts.upsert(call.ports, call.principal, call.body)


@api("/accounts", ["GET"], TENANT, query=("tenant_id!",))
def list_accounts(call: Call) -> dict[str, Any]:
    return accounts.list_for(call.ports, call.principal, call.tenant_query())


@api("/account/{account_id}", ["DELETE"], TENANT, command="deleteAccount", query=("tenant_id!",))
def delete_account(call: Call) -> dict[str, Any]:
    return accounts.delete(call.ports, call.principal, call.tenant_query(), call.params["account_id"])


# ------------------------------------------------------------------ messages (3.4)
@api(
    "/messages",
    ["GET"],
    TENANT,
    query=(
        "tenant_id!",
        "active_only",
        "include_history",
        "limit",
        "cursor",
        "status",
        "batch_code",
        "account_id",
        "since",
        "until",
        "q",
    ),
)
def list_messages(call: Call) -> dict[str, Any]:
    tenant_id = call.tenant_query()
    active_only = parse_bool("active_only", call.q("active_only"), False)
    history = parse_bool("include_history", call.q("include_history"), False)
    return messages.list_messages(call.ports, call.principal, tenant_id, active_only, history, finding.read(call.query))


@api("/messages/{message_id}", ["GET"], TENANT, query=("tenant_id!",))
def get_message(call: Call) -> dict[str, Any]:
    return messages.get_message(call.ports, call.principal, call.tenant_query(), call.params["message_id"])


# ------------------------------------------------------------------ tenants (3.5)
@api("/tenant", ["POST"], ADMIN, body="required", command="addTenant", schema=schemas.TENANT_CREATE)
def add_tenant(call: Call) -> dict[str, Any]:
    return tenants.create_or_replace(call.ports, call.principal, call.body)


@api("/tenants", ["GET"], ADMIN, query=("active_only",))
def list_tenants(call: Call) -> dict[str, Any]:
    return tenants.list_all(call.ports, call.principal, parse_bool("active_only", call.q("active_only"), False))


@api("/tenants/sync-status", ["GET"], ADMIN)
def sync_status(call: Call) -> dict[str, Any]:
    return tenants.sync_status(call.ports, call.principal)


@api("/tenant/{tenant_id}", ["GET"], TENANT)
def get_tenant(call: Call) -> dict[str, Any]:
    return tenants.get(call.ports, call.principal, call.params["tenant_id"])


@api("/tenant/{tenant_id}", ["PUT"], TENANT, body="required", command="updateTenant", schema=schemas.TENANT_UPDATE)
def update_tenant(call: Call) -> dict[str, Any]:
    return tenants.update(call.ports, call.principal, call.params["tenant_id"], call.body)


@api("/tenant/{tenant_id}", ["DELETE"], ADMIN, command="deleteTenant")
def delete_tenant(call: Call) -> dict[str, Any]:
    return tenants.delete(call.ports, call.principal, call.params["tenant_id"])


@api("/tenant/{tenant_id}/api-key", ["POST"], ADMIN, body="optional", schema=schemas.API_KEY)
def rotate_api_key(call: Call) -> dict[str, Any]:
    return tenants.rotate_key(call.ports, call.principal, call.params["tenant_id"], call.body)


@api("/tenant/{tenant_id}/api-key", ["DELETE"], ADMIN)
def revoke_api_key(call: Call) -> dict[str, Any]:
    return tenants.revoke_key(call.ports, call.principal, call.params["tenant_id"])


@api("/tenant/{tenant_id}/signing-secret", ["POST"], ADMIN)
def new_signing_secret(call: Call) -> dict[str, Any]:
    return tenants.new_signing_secret(call.ports, call.principal, call.params["tenant_id"])


# ------------------------------------------------------------------ suppressions (7.1)
@api("/suppressions", ["GET"], TENANT, query=("tenant_id!", "reason", "limit", "cursor"))
def list_suppressions(call: Call) -> dict[str, Any]:
    return suppressions.list_for(call.ports, call.principal, call.tenant_query(), call.query)


@api("/suppressions", ["POST"], TENANT, body="required", command="addSuppressions", schema=schemas.SUPPRESSIONS_ADD)
def add_suppressions(call: Call) -> dict[str, Any]:
    return suppressions.add(call.ports, call.principal, call.body)


@api("/suppressions/{address}", ["DELETE"], TENANT, command="deleteSuppression", query=("tenant_id!",))
def delete_suppression(call: Call) -> dict[str, Any]:
    return suppressions.delete(call.ports, call.principal, call.tenant_query(), call.params["address"])


# ------------------------------------------------------------------ one-click unsubscribe (7.3)
@api("/unsubscribe/{token}", ["POST"], OPEN)
def unsubscribe_now(call: Call) -> dict[str, Any]:
    # No authentication: the token is the authority. Any body is tolerated (RFC 8058 sends
    # "List-Unsubscribe=One-Click" as a form).
    return unsubscribe.confirm(call.ports, call.params["token"])


@api("/unsubscribe/{token}", ["GET"], OPEN, media="text/html")
def unsubscribe_page(call: Call) -> Response:
    status, page = unsubscribe.page(call.ports, call.params["token"])
    return Response(body=page, status_code=status, headers={"Content-Type": "text/html; charset=utf-8"})


# ------------------------------------------------------------------ instance (3.6)
@api("/instance", ["GET"], ADMIN)
def get_instance(call: Call) -> dict[str, Any]:
    return admin.instance_info(call.ports, call.principal)


@api("/instance", ["PUT"], ADMIN, body="required", schema=schemas.INSTANCE_UPDATE)
def put_instance(call: Call) -> dict[str, Any]:
    return admin.update_instance(call.ports, call.principal, call.body)


@api("/instance/reload-bounce", ["POST"], ADMIN)
def reload_bounce(call: Call) -> dict[str, Any]:
    return admin.reload_bounce(call.ports, call.principal)


# ------------------------------------------------------------------ command log (3.7)
@api("/command-log", ["GET"], ADMIN, query=("tenant_id", "since_ts", "until_ts", "endpoint_filter", "limit"))
def command_log(call: Call) -> dict[str, Any]:
    return admin.command_log(call.ports, call.principal, call.query)


@api("/command-log/export", ["GET"], ADMIN, query=("tenant_id", "since_ts", "until_ts"))
def command_log_export(call: Call) -> dict[str, Any]:
    return admin.command_log_export(call.ports, call.principal, call.query)


# ------------------------------------------------------------------ describing the API (7.6)
_METRICS_DOC = {
    "/metrics": {
        "get": {
            "summary": "Prometheus metrics (text exposition format)",
            "parameters": [
                {
                    "name": "shards",
                    "in": "query",
                    "required": False,
                    "description": "scrape in this many parts (default 1)",
                    "schema": {"type": "integer", "minimum": 1, "maximum": limits.METRICS_MAX_SHARDS},
                },
                {
                    "name": "shard",
                    "in": "query",
                    "required": False,
                    "description": "which part, 0 to shards - 1",
                    "schema": {"type": "integer", "minimum": 0},
                },
            ],
            "responses": {
                "200": {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}},
                "400": {"description": "Too large for one answer: the detail names the shards that fit"},
                "422": {"description": "shards or shard out of range"},
            },
        }
    }
}


@api("/openapi.json", ["GET"], OPEN)
def openapi_json(call: Call) -> dict[str, Any]:
    """The OpenAPI 3.1 description of every route"""
    return openapi.document(api.docs, _METRICS_DOC, VERSION)


@api("/docs", ["GET"], OPEN, media="text/html")
def docs(call: Call) -> Response:
    """This API's description, as a page"""
    page = openapi.render(openapi.document(api.docs, _METRICS_DOC, VERSION))
    return Response(body=page, status_code=200, headers={"Content-Type": "text/html; charset=utf-8"})


def _asset(name: str) -> Response:
    text = assets.read(name)
    if text is None:  # a tree with neither the package nor its build dependencies
        return Response(body="not packaged", status_code=404, headers={"Content-Type": "text/plain"})
    return Response(
        body=text,
        status_code=200,
        headers={"Content-Type": openapi.SWAGGER_ASSETS[name], "Cache-Control": "public, max-age=86400"},
    )


@api("/docs/swagger-ui.css", ["GET"], OPEN, media="text/css")
def docs_css(call: Call) -> Response:
    """The /docs page's style sheet (Swagger UI)"""
    return _asset("swagger-ui.css")


@api("/docs/swagger-ui-bundle.js", ["GET"], OPEN, media="application/javascript")
def docs_js(call: Call) -> Response:
    """The /docs page's script (Swagger UI)"""
    return _asset("swagger-ui-bundle.js")


api.answer_405({"/metrics": {"GET"}})
