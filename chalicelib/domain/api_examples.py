"""An example request and answer for every operation of the API description (docs/api.md
§7.6), shown by the /docs page. A unit test checks every route has one and every request
example passes the route's own schema, so the examples cannot drift from what is accepted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

MESSAGE: Final = {
    "id": "order-1042-confirmation",
    "tenant_id": "acme",
    "account_id": "main",
    "from": "ACME Shop <shop@acme.example>",
    "to": ["customer@example.com"],
    "subject": "Your order 1042",
    "body": "<p>Thank you for your order.</p>",
    "content_type": "html",
    "priority": "high",
    "batch_code": "orders",
    "attachments": [{"filename": "invoice-1042.pdf", "storage_path": "https://files.acme.example/invoices/1042.pdf"}],
}
RECORD: Final = {
    "pk": "5b7f0a52-0f7c-4d8e-9a51-3c2f6a1d9e10",
    "id": "order-1042-confirmation",
    "tenant_id": "acme",
    "tenant_name": "ACME",
    "account_id": "main",
    "batch_code": "orders",
    "priority": 1,
    "status": "sent",
    "retry_count": 0,
    "created_at": "2026-12-06T15:30:20+00:00",
    "sent_ts": 1796571021,
    "message": {k: v for k, v in MESSAGE.items() if k != "priority"} | {"priority": 1},
}
TENANT_INFO: Final = {
    "id": "acme",
    "name": "ACME",
    "active": True,
    "client_base_url": "https://app.acme.example",
    "client_sync_path": "/mail-proxy/sync",
    "client_attachment_path": "/mail-proxy/attachments",
    "client_auth": {"method": "bearer"},
    "retention_days": 7,
    "suppression_enabled": True,
    "created_at": "2026-12-01T09:00:00+00:00",
    "updated_at": "2026-12-06T15:00:00+00:00",
}
ACCOUNT: Final = {
    "id": "main",
    "tenant_id": "acme",
    "host": "smtp.acme.example",
    "port": 587,
    "user": "mailer",
    "password": "app-password",
    "use_tls": True,
    "batch_size": 50,
    "limit_per_hour": 2000,
}
OK: Final = {"ok": True}


@dataclass(frozen=True)
class Example:
    answer: Any  # the 200 answer (a dict, or text for pages)
    request: Any = None  # the JSON body, for operations that take one
    query: str = ""  # the query string shown with it, for people


EXAMPLES: Final[dict[tuple[str, str], Example]] = {
    ("GET", "/health"): Example({"status": "ok"}),
    ("GET", "/status"): Example(
        {
            "ok": True,
            "active": True,
            "aws_endpoint_url": "aws",
            "components": {
                "database": {"healthy": True},
                "queues": {"healthy": True},
                "scheduler": {"healthy": True, "last_tick_ts": 1796571000},
            },
            "accounts": {"healthy": True},
            "settings": {"MAILPROXY_MAX_RETRIES": "5", "MAILPROXY_RETRY_DELAYS": "60,300,900,3600,7200"},
        }
    ),
    ("POST", "/commands/run-now"): Example(OK, query="tenant_id=acme"),
    ("POST", "/commands/suspend"): Example(
        {"ok": True, "tenant_id": "acme", "suspended_batches": ["newsletter"], "pending_messages": 1200},
        query="tenant_id=acme&batch_code=newsletter",
    ),
    ("POST", "/commands/activate"): Example(
        {"ok": True, "tenant_id": "acme", "suspended_batches": [], "pending_messages": 1200},
        query="tenant_id=acme&batch_code=newsletter",
    ),
    ("POST", "/commands/add-messages"): Example(
        {"ok": True, "queued": 1, "rejected": []}, {"messages": [MESSAGE], "default_priority": "medium"}
    ),
    ("POST", "/commands/delete-messages"): Example(
        {"ok": True, "removed": 1, "not_found": [], "unauthorized": []},
        {"ids": ["order-1042-confirmation"]},
        query="tenant_id=acme",
    ),
    ("POST", "/commands/cleanup-messages"): Example(
        {"ok": True, "removed": 312}, {"older_than_seconds": 86400}, query="tenant_id=acme"
    ),
    ("POST", "/account"): Example(OK, ACCOUNT),
    ("GET", "/accounts"): Example(
        {"ok": True, "accounts": [{k: v for k, v in ACCOUNT.items() if k != "password"}]}, query="tenant_id=acme"
    ),
    ("DELETE", "/account/{account_id}"): Example(OK, query="tenant_id=acme"),
    ("GET", "/messages"): Example(
        {"ok": True, "messages": [RECORD], "next_cursor": None}, query="tenant_id=acme&q=customer@example.com&limit=50"
    ),
    ("GET", "/messages/{message_id}"): Example(
        {
            "ok": True,
            "message": RECORD | {"history": [{"event_id": 981, "event_type": "sent", "event_ts": 1796571021}]},
        },
        query="tenant_id=acme",
    ),
    ("POST", "/tenant"): Example(
        {"ok": True, "api_key": "mpk_…shown once…", "signing_secret": "mps_…shown once…"},
        {
            "id": "acme",
            "name": "ACME",
            "client_base_url": "https://app.acme.example",
            "client_auth": {"method": "bearer", "token": "client-app-token"},
        },
    ),
    ("GET", "/tenants"): Example({"ok": True, "tenants": [TENANT_INFO]}),
    ("GET", "/tenants/sync-status"): Example(
        {
            "ok": True,
            "sync_interval_seconds": 300,
            "tenants": [
                {
                    "id": "acme",
                    "name": "ACME",
                    "active": True,
                    "client_base_url": "https://app.acme.example",
                    "last_sync_ts": 1796570900,
                    "next_sync_due": False,
                    "in_dnd": False,
                }
            ],
        }
    ),
    ("GET", "/tenant/{tenant_id}"): Example(TENANT_INFO),
    ("PUT", "/tenant/{tenant_id}"): Example(OK, {"retention_days": 30, "active": True}),
    ("DELETE", "/tenant/{tenant_id}"): Example(OK),
    ("POST", "/tenant/{tenant_id}/api-key"): Example(
        {"ok": True, "api_key": "mpk_…shown once…"}, {"expires_at": 1830000000}
    ),
    ("DELETE", "/tenant/{tenant_id}/api-key"): Example(OK),
    ("POST", "/tenant/{tenant_id}/signing-secret"): Example({"ok": True, "signing_secret": "mps_…shown once…"}),
    ("GET", "/suppressions"): Example(
        {
            "ok": True,
            "next_cursor": None,
            "suppressions": [
                {
                    "address": "gone@example.com",
                    "reason": "hard_bounce",
                    "created_ts": 1796571021,
                    "message_id": "order-1042-confirmation",
                    "detail": "5.1.1 User unknown (SMTP 550)",
                }
            ],
        },
        query="tenant_id=acme&reason=hard_bounce",
    ),
    ("POST", "/suppressions"): Example(
        {"ok": True, "added": 1}, {"tenant_id": "acme", "addresses": ["gone@example.com"], "detail": "asked by phone"}
    ),
    ("DELETE", "/suppressions/{address}"): Example(OK, query="tenant_id=acme"),
    ("POST", "/unsubscribe/{token}"): Example(OK),
    ("GET", "/unsubscribe/{token}"): Example("<!doctype html>… You are unsubscribed …"),
    ("GET", "/instance"): Example(
        {
            "name": "mail-proxy",
            "bounce_enabled": True,
            "bounce_imap_host": "imap.example",
            "bounce_imap_port": 993,
            "bounce_imap_user": "bounces@acme.example",
            "bounce_imap_folder": "INBOX",
            "bounce_imap_ssl": True,
            "bounce_poll_interval": 60,
            "bounce_return_path": "bounces@acme.example",
        }
    ),
    ("PUT", "/instance"): Example(
        OK,
        {
            "bounce_enabled": True,
            "bounce_imap_host": "imap.example",
            "bounce_imap_user": "bounces@acme.example",
            "bounce_imap_password": "secret",
            "bounce_return_path": "bounces@acme.example",
        },
    ),
    ("POST", "/instance/reload-bounce"): Example(OK),
    ("GET", "/command-log"): Example(
        {
            "ok": True,
            "total": 1,
            "commands": [
                {
                    "id": 7,
                    "command_ts": 1796571020,
                    "endpoint": "addMessages",
                    "tenant_id": "acme",
                    "payload": {"messages": 1},
                    "response_status": 200,
                }
            ],
        },
        query="tenant_id=acme&limit=100",
    ),
    ("GET", "/command-log/export"): Example(
        {
            "ok": True,
            "commands": [
                {"endpoint": "addMessages", "tenant_id": "acme", "payload": {"messages": 1}, "command_ts": 1796571020}
            ],
        },
        query="tenant_id=acme",
    ),
    ("GET", "/openapi.json"): Example({"openapi": "3.1.0", "info": {"title": "Mail Proxy API"}, "paths": {}}),
    ("GET", "/docs"): Example("<!doctype html>… this page …"),
    ("GET", "/docs/swagger-ui.css"): Example(".swagger-ui{…}"),
    ("GET", "/docs/swagger-ui-bundle.js"): Example("!function(e,t){…SwaggerUIBundle…}"),
    ("GET", "/metrics"): Example(
        'gmp_sent_total{tenant_id="acme",tenant_name="ACME",account_id="main",account_name="main"} 1042.0'
    ),
}

INTRODUCTION: Final = """Multi-tenant email dispatch: API v1 and its extensions.

**Authentication.** Every route but `/health`, `/metrics`, `/openapi.json`, `/docs` and the
unsubscribe links takes a token in the `X-API-Token` header: the **admin token** (the operator's;
every route, every tenant) or a **tenant's API key** (`POST /tenant` shows it once; only that
tenant's data). Without a token: `401`; with an unknown one, or a tenant key on an admin route or
on another tenant's data: `403`. Use *Authorize* above to try the routes from this page.

**Errors.** Every error is JSON with a `detail`:

- `422` invalid input: `{"detail": [{"loc": ["body", "messages", 0, "to", 1], "msg": "Input should be a
  valid email address: …", "type": "value_error.email"}]}`, one entry per field (checked before the
  tenant scope);
- `400` a business rule: `{"detail": "account not found or not owned by tenant"}` (add-messages:
  `{"detail": {"error": null, "rejected": [{"id", "reason"}]}}`);
- `401`, `403`, `404`, `405`, `413`, `415`: `{"detail": "<what is wrong>"}`;
- `503` a dependency is unavailable: retry later.

Times are Unix seconds (`*_ts`) or ISO 8601 (`created_at`); keys whose value is null are left out.
"""
