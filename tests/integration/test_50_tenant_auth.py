"""Catalogue group 50_security, TestPerTenantApiKeys, plus docs/api.md §2 details."""

from __future__ import annotations

from tests.support.api import ApiClient
from tests.support.factories import unique
from tests.support.polling import eventually
from tests.support.smtp import SmtpSink
from tests.support.tenants import TenantFactory, TenantHandle

ADMIN_ONLY = "Admin token required, tenant tokens not allowed for this operation"


class TestPerTenantApiKeys:
    def test_tenant_token_accesses_own_resources(self, tenant: TenantHandle) -> None:
        me = tenant.client
        assert me.ok("GET", f"/tenant/{tenant.id}")["id"] == tenant.id
        assert [a["id"] for a in me.ok("GET", "/accounts", params={"tenant_id": tenant.id})["accounts"]] == [
            tenant.account_id
        ]
        msg = tenant.message()
        assert me.ok("POST", "/commands/add-messages", json={"messages": [msg]})["queued"] == 1
        eventually(lambda: tenant.sink.by_id(msg["id"]), what="delivery with tenant key")
        assert [m["id"] for m in me.messages(tenant.id)] == [msg["id"]]
        me.ok("POST", "/commands/run-now")
        assert me.ok("GET", "/status")["ok"] is True

    def test_tenant_token_rejected_for_other_tenant(
        self, tenant: TenantHandle, make_tenant: TenantFactory, sink2: SmtpSink
    ) -> None:
        other = make_tenant(sink2)
        me = tenant.client
        for method, path, params in [
            ("GET", f"/tenant/{other.id}", None),
            ("GET", "/accounts", {"tenant_id": other.id}),
            ("GET", "/messages", {"tenant_id": other.id}),
            ("POST", "/commands/suspend", {"tenant_id": other.id}),
            ("POST", "/commands/run-now", {"tenant_id": other.id}),
            # Scope is checked before existence: an unknown tenant is 403 too.
            ("GET", "/messages", {"tenant_id": unique("nobody")}),
        ]:
            response = me.request(method, path, params=params)
            assert response.status_code == 403, (method, path)
            assert response.json() == {"detail": "Token not authorized for this tenant"}
        foreign = other.message()
        body = me.post("/commands/add-messages", json={"messages": [foreign]})
        assert body.status_code == 400
        assert body.json()["detail"]["rejected"] == [
            {"id": foreign["id"], "reason": "Token not authorized for this tenant"}
        ]
        account = me.post("/account", json={"id": "x", "tenant_id": other.id, "host": "h", "port": 25})
        assert account.status_code == 403

    def test_global_token_works_for_all_tenants(
        self, admin: ApiClient, tenant: TenantHandle, make_tenant: TenantFactory, sink2: SmtpSink
    ) -> None:
        other = make_tenant(sink2)
        one, two = tenant.message(), other.message()
        body = admin.ok("POST", "/commands/add-messages", json={"messages": [one, two]})
        assert body["queued"] == 2
        eventually(lambda: tenant.sink.by_id(one["id"]) and other.sink.by_id(two["id"]), what="both tenants delivered")
        for handle in (tenant, other):
            assert admin.ok("GET", f"/tenant/{handle.id}")["id"] == handle.id

    def test_invalid_token_returns_403(self, tenant: TenantHandle) -> None:
        response = tenant.client.as_token(tenant.api_key + "x").get("/messages", params={"tenant_id": tenant.id})
        assert response.status_code == 403
        assert response.json() == {"detail": "Invalid or missing API token"}

    def test_missing_token_returns_401(self, anonymous: ApiClient, tenant: TenantHandle) -> None:
        response = anonymous.get("/messages", params={"tenant_id": tenant.id})
        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid or missing API token"}
        admin_route = anonymous.get("/tenants")
        assert admin_route.status_code == 401
        assert admin_route.json() == {"detail": "Admin token required"}
        empty = anonymous.get("/status", headers={"X-API-Token": ""})
        assert empty.status_code == 401

    def test_token_can_be_rotated(self, admin: ApiClient, tenant: TenantHandle) -> None:
        new_key = admin.ok("POST", f"/tenant/{tenant.id}/api-key")["api_key"]
        assert new_key != tenant.api_key
        old = tenant.client.get("/accounts", params={"tenant_id": tenant.id})
        assert old.status_code == 403, "the old key dies at once"
        assert admin.as_token(new_key).ok("GET", "/accounts", params={"tenant_id": tenant.id})["ok"]
        expired = admin.ok("POST", f"/tenant/{tenant.id}/api-key", json={"expires_at": 1})["api_key"]
        assert admin.as_token(expired).get("/accounts", params={"tenant_id": tenant.id}).status_code == 403
        assert admin.post(f"/tenant/{unique('nobody')}/api-key").status_code == 404

    def test_revoked_token_rejected(self, admin: ApiClient, tenant: TenantHandle) -> None:
        admin.ok("DELETE", f"/tenant/{tenant.id}/api-key")
        response = tenant.client.get("/accounts", params={"tenant_id": tenant.id})
        assert response.status_code == 403
        admin.ok("DELETE", f"/tenant/{tenant.id}/api-key")  # also fine with no key

    def test_tenant_token_limited_to_own_operations(self, tenant: TenantHandle) -> None:
        me = tenant.client
        for method, path in [
            ("GET", "/tenants"),
            ("POST", "/tenant"),
            ("DELETE", f"/tenant/{tenant.id}"),
            ("POST", f"/tenant/{tenant.id}/api-key"),
            ("DELETE", f"/tenant/{tenant.id}/api-key"),
            ("POST", f"/tenant/{tenant.id}/signing-secret"),
            ("GET", "/tenants/sync-status"),
        ]:
            response = me.request(method, path, json={"id": tenant.id})
            assert response.status_code == 403, (method, path)
            assert response.json() == {"detail": ADMIN_ONLY}
