"""Contract section 1: content types, body limits, error shapes, command log, metrics."""

from __future__ import annotations

import json

from tests.support.api import ApiClient
from tests.support.tenants import TenantHandle


class TestConventions:
    def test_non_json_content_type_is_415(self, admin: ApiClient, tenant: TenantHandle) -> None:
        response = admin.post("/commands/add-messages", data="messages=1", headers={"Content-Type": "text/plain"})
        assert response.status_code == 415

    def test_request_without_content_type_is_read_as_json(self, admin: ApiClient, tenant: TenantHandle) -> None:
        admin.ok("POST", "/commands/suspend", params={"tenant_id": tenant.id})
        body = json.dumps({"messages": [tenant.message()]}).encode()
        response = admin.session.post(
            admin.base_url + "/commands/add-messages", data=body, headers={"X-API-Token": admin.token or ""}
        )
        assert response.status_code == 200, response.text
        assert response.json()["queued"] == 1

    def test_bad_json_is_422_not_500(self, admin: ApiClient) -> None:
        response = admin.post("/tenant", data="{not json", headers={"Content-Type": "application/json"})
        assert response.status_code == 422
        assert response.json()["detail"][0]["type"] == "json_invalid"

    def test_body_over_5_mib_is_413(self, admin: ApiClient, tenant: TenantHandle) -> None:
        big = tenant.message(body="x" * (5 * 1024 * 1024 + 10))
        response = admin.post("/commands/add-messages", json={"messages": [big]})
        assert response.status_code == 413
        assert response.json() == {"detail": "Request body too large"}
        assert admin.messages(tenant.id) == []

    def test_more_than_1000_messages_is_400(self, admin: ApiClient, tenant: TenantHandle) -> None:
        many = [tenant.message(body="") for _ in range(1001)]
        response = admin.post("/commands/add-messages", json={"messages": many})
        assert response.status_code == 400
        assert response.json() == {
            "detail": {"error": "Cannot enqueue more than 1000 messages at once", "rejected": None}
        }

    def test_missing_required_query_parameter_is_422(self, admin: ApiClient) -> None:
        response = admin.get("/messages")
        assert response.status_code == 422
        assert response.json()["detail"] == [
            {"loc": ["query", "tenant_id"], "msg": "Field required", "type": "missing"}
        ]

    def test_unknown_tenant_on_account_creation_is_404(self, admin: ApiClient) -> None:
        response = admin.post("/account", json={"id": "a", "tenant_id": "ghost", "host": "h", "port": 25})
        assert response.status_code == 404
        assert response.json() == {"detail": "Tenant 'ghost' not found"}

    def test_sql_metacharacters_are_stored_literally(self, admin: ApiClient, tenant: TenantHandle) -> None:
        admin.ok("POST", "/commands/suspend", params={"tenant_id": tenant.id})
        tricky = tenant.message(id="x'); DROP TABLE messages;--", subject="<script>alert(1)</script>")
        admin.ok("POST", "/commands/add-messages", json={"messages": [tricky]})
        stored = admin.messages(tenant.id)
        assert stored[0]["id"] == tricky["id"]
        assert stored[0]["message"]["subject"] == "<script>alert(1)</script>"

    def test_metrics_are_prometheus_text_without_token(self, anonymous: ApiClient, tenant: TenantHandle) -> None:
        response = anonymous.get("/metrics")
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        text = response.text
        for name in ("gmp_sent_total", "gmp_errors_total", "gmp_deferred_total", "gmp_rate_limited_total"):
            assert f"# TYPE {name} counter" in text
            assert f'{name}{{account_id="{tenant.account_id}"' in text
        assert "gmp_pending_messages " in text and "_created" not in text

    def test_known_path_with_other_method_is_405(self, admin: ApiClient) -> None:
        for method, path in [("DELETE", "/health"), ("PATCH", "/tenant/x"), ("GET", "/commands/add-messages")]:
            response = admin.request(method, path)
            assert response.status_code == 405, (method, path)
            assert response.json() == {"detail": "Method Not Allowed"}

    def test_unknown_path_is_404_or_the_gateways_403(self, admin: ApiClient) -> None:
        response = admin.get("/no/such/route")
        assert response.status_code in (403, 404)
