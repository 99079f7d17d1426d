"""Tenants made over HTTP through the admin API (integration tier): a handle per tenant
with its own key, and a factory that deletes what it made."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.support.api import ApiClient
from tests.support.factories import account_payload, message_payload, tenant_payload
from tests.support.smtp import SmtpSink


@dataclass
class TenantHandle:
    id: str
    api_key: str
    account_id: str
    sink: SmtpSink
    client: ApiClient  # authenticated with the tenant's own key

    def message(self, **over: Any) -> dict[str, Any]:
        return message_payload(self.id, self.account_id, **over)


class TenantFactory:
    def __init__(self, admin: ApiClient) -> None:
        self.admin = admin
        self.created: list[str] = []

    def __call__(
        self, sink: SmtpSink, tenant: dict[str, Any] | None = None, account: dict[str, Any] | None = None
    ) -> TenantHandle:
        payload = tenant_payload(**(tenant or {}))
        body = self.admin.ok("POST", "/tenant", json=payload)
        self.created.append(payload["id"])
        acct = account_payload(payload["id"], sink.port, **(account or {}))
        self.admin.ok("POST", "/account", json=acct)
        return TenantHandle(payload["id"], body["api_key"], acct["id"], sink, self.admin.as_token(body["api_key"]))

    def cleanup(self) -> None:
        for tenant_id in self.created:
            self.admin.delete(f"/tenant/{tenant_id}")
