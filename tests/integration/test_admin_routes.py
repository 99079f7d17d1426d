"""Instance settings (docs/api.md §3.6) and the command log (3.7, 5.14) over HTTP."""

from __future__ import annotations

from tests.support.api import ApiClient
from tests.support.tenants import TenantHandle


class TestInstance:
    def test_instance_info_and_partial_update(self, admin: ApiClient) -> None:
        info = admin.ok("GET", "/instance")
        assert info["id"] == 1 and isinstance(info["bounce_imap_port"], int)
        assert isinstance(info["bounce_enabled"], bool) and info["bounce_imap_folder"]
        admin.ok("PUT", "/instance", json={"name": "proxy-1", "bounce_imap_password": "secret", "api_token": "ignored"})
        info = admin.ok("GET", "/instance")
        assert info["name"] == "proxy-1"
        assert "bounce_imap_password" not in info and "api_token" not in info
        admin.ok("PUT", "/instance", json={"name": "mail-proxy"})

    def test_reload_bounce_refuses_enabled_without_host(self, admin: ApiClient) -> None:
        admin.ok("PUT", "/instance", json={"bounce_enabled": True, "bounce_imap_host": ""})
        response = admin.post("/instance/reload-bounce")
        assert response.status_code == 400
        assert response.json() == {"detail": "Bounce enabled but imap_host not configured"}
        admin.ok("PUT", "/instance", json={"bounce_enabled": False})
        assert admin.ok("POST", "/instance/reload-bounce") == {"ok": True}


class TestCommandLog:
    def test_commands_are_logged_without_secrets(self, admin: ApiClient, tenant: TenantHandle) -> None:
        admin.ok("POST", "/commands/suspend", params={"tenant_id": tenant.id, "batch_code": "b"})
        admin.ok(
            "POST",
            "/account",
            json={"id": "logged", "tenant_id": tenant.id, "host": "h", "port": 25, "password": "pw-secret"},
        )
        rows = admin.ok("GET", "/command-log", params={"tenant_id": tenant.id})["commands"]
        endpoints = [r["endpoint"] for r in rows]
        assert endpoints[:1] == ["addTenant"] and "addAccount" in endpoints and "suspend" in endpoints
        suspend = next(r for r in rows if r["endpoint"] == "suspend")
        assert suspend["payload"] == {"tenant_id": tenant.id, "batch_code": "b"}
        assert suspend["response_status"] == 200
        assert "pw-secret" not in str(rows)
        filtered = admin.ok("GET", "/command-log", params={"tenant_id": tenant.id, "endpoint_filter": "Account"})
        assert {r["endpoint"] for r in filtered["commands"]} == {"addAccount"}
        assert filtered["total"] == len(filtered["commands"])
        export = admin.ok("GET", "/command-log/export", params={"tenant_id": tenant.id})["commands"]
        assert set(export[0]) == {"endpoint", "tenant_id", "payload", "command_ts"}

    def test_unauthenticated_and_invalid_requests_are_not_logged(
        self, admin: ApiClient, anonymous: ApiClient, tenant: TenantHandle
    ) -> None:
        anonymous.post("/commands/suspend", params={"tenant_id": tenant.id})
        admin.post("/account", json={"id": "x", "tenant_id": tenant.id})  # 422
        rows = admin.ok("GET", "/command-log", params={"tenant_id": tenant.id})["commands"]
        assert [r["endpoint"] for r in rows] == ["addTenant", "addAccount"], "only the fixture's own commands"
