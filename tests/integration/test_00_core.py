"""Catalogue group 00_core, against the running stack over HTTP."""

from __future__ import annotations

from tests.support.api import ApiClient
from tests.support.factories import account_payload, tenant_payload, unique
from tests.support.polling import eventually
from tests.support.smtp import SmtpSink
from tests.support.tenants import TenantFactory, TenantHandle


class TestHealthAndBasics:
    def test_get_health_works_without_authentication(self, anonymous: ApiClient) -> None:
        response = anonymous.get("/health")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}

    def test_get_status_requires_api_token(self, anonymous: ApiClient) -> None:
        response = anonymous.get("/status")
        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid or missing API token"}

    def test_get_status_returns_status_with_valid_token(self, admin: ApiClient) -> None:
        body = admin.ok("GET", "/status")
        assert body["ok"] is True and body["active"] is True
        assert body["aws_endpoint_url"].startswith("http://127.0.0.1:")
        assert set(body["components"]) == {"database", "queues", "scheduler"}
        eventually(
            lambda: all(c["healthy"] for c in admin.ok("GET", "/status")["components"].values()),
            what="every component healthy (the scheduler after its first tick)",
        )

    def test_invalid_api_token_returns_403(self, admin: ApiClient) -> None:
        response = admin.as_token("not-a-real-token").get("/status")
        assert response.status_code == 403
        assert response.json() == {"detail": "Invalid or missing API token"}


class TestTenantManagement:
    def test_post_tenant_creates_new_tenant(self, admin: ApiClient, make_tenant: TenantFactory) -> None:
        payload = tenant_payload(
            client_base_url="https://client.example.com", client_auth={"method": "bearer", "token": "s3cret"}
        )
        body = admin.ok("POST", "/tenant", json=payload)
        make_tenant.created.append(payload["id"])
        assert body["ok"] is True
        assert body["api_key"] and body["signing_secret"]
        info = admin.ok("GET", f"/tenant/{payload['id']}")
        assert info["id"] == payload["id"] and info["active"] is True
        assert info["retention_days"] == 7
        assert info["client_auth"] == {"method": "bearer"}, "secrets are never returned"
        # A second POST with the same id replaces fields and issues no new key.
        again = admin.ok("POST", "/tenant", json={"id": payload["id"], "name": "Renamed"})
        assert again == {"ok": True}
        info = admin.ok("GET", f"/tenant/{payload['id']}")
        assert info["name"] == "Renamed" and "client_base_url" not in info
        assert info["created_at"].endswith("+00:00")

    def test_get_tenants_returns_tenant_list(
        self, admin: ApiClient, tenant: TenantHandle, make_tenant: TenantFactory, sink: SmtpSink
    ) -> None:
        other = make_tenant(sink, tenant={"active": False})
        tenants = admin.ok("GET", "/tenants")["tenants"]
        ids = [t["id"] for t in tenants]
        assert tenant.id in ids and other.id in ids
        assert ids == sorted(ids)
        active = [t["id"] for t in admin.ok("GET", "/tenants", params={"active_only": "yes"})["tenants"]]
        assert tenant.id in active and other.id not in active

    def test_get_tenant_by_id_returns_tenant_details(self, admin: ApiClient, tenant: TenantHandle) -> None:
        info = admin.ok("GET", f"/tenant/{tenant.id}")
        assert "ok" not in info, "GET /tenant/{id} answers the bare TenantInfo"
        assert info["id"] == tenant.id and info["name"] == "Test Tenant"
        missing = admin.get(f"/tenant/{unique('nobody')}")
        assert missing.status_code == 404
        assert missing.json()["detail"].startswith("Tenant '")

    def test_put_tenant_updates_tenant_configuration(self, admin: ApiClient, tenant: TenantHandle) -> None:
        admin.ok(
            "PUT",
            f"/tenant/{tenant.id}",
            json={"name": "New name", "retention_days": 30, "client_base_url": "http://127.0.0.1:9"},
        )
        info = admin.ok("GET", f"/tenant/{tenant.id}")
        assert (info["name"], info["retention_days"]) == ("New name", 30)
        assert info["client_base_url"] == "http://127.0.0.1:9"
        admin.ok("PUT", f"/tenant/{tenant.id}", json={})
        assert admin.ok("GET", f"/tenant/{tenant.id}")["name"] == "New name", "{} is a no-op"
        bad = admin.put(f"/tenant/{tenant.id}", json={"retention_days": -1})
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["loc"][-1] == "retention_days"


class TestAccountManagement:
    def test_get_accounts_returns_account_list(self, admin: ApiClient, tenant: TenantHandle) -> None:
        accounts = admin.ok("GET", "/accounts", params={"tenant_id": tenant.id})["accounts"]
        assert [a["id"] for a in accounts] == [tenant.account_id]
        account = accounts[0]
        assert account["host"] == "127.0.0.1" and account["port"] == tenant.sink.port
        assert account["batch_size"] == 50 and account["ttl"] == 300
        assert admin.ok("GET", "/accounts", params={"tenant_id": unique("nobody")})["accounts"] == []

    def test_post_account_with_rate_limit_fields(self, admin: ApiClient, tenant: TenantHandle, sink: SmtpSink) -> None:
        payload = account_payload(
            tenant.id,
            sink.port,
            limit_per_minute=10,
            limit_per_hour=100,
            limit_per_day=1000,
            limit_behavior="reject",
            user="mailer",
            password="hunter2",
        )
        admin.ok("POST", "/account", json=payload)
        stored = next(
            a
            for a in admin.ok("GET", "/accounts", params={"tenant_id": tenant.id})["accounts"]
            if a["id"] == payload["id"]
        )
        assert (stored["limit_per_minute"], stored["limit_per_hour"], stored["limit_per_day"]) == (10, 100, 1000)
        assert stored["limit_behavior"] == "reject" and stored["user"] == "mailer"
        assert "password" not in stored
        bad = admin.post("/account", json={**payload, "limit_behavior": "sometimes"})
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["loc"] == ["body", "limit_behavior"]
