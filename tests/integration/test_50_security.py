"""Catalogue group 50_security: isolation and input sanitisation over HTTP."""

from __future__ import annotations

from urllib.parse import quote

from tests.support.api import ApiClient
from tests.support.polling import eventually
from tests.support.smtp import SmtpSink
from tests.support.tenants import TenantFactory, TenantHandle


class TestTenantIsolation:
    def test_each_tenants_messages_go_to_correct_smtp(
        self, admin: ApiClient, tenant: TenantHandle, make_tenant: TenantFactory, sink2: SmtpSink
    ) -> None:
        other = make_tenant(sink2)
        mine, theirs = tenant.message(), other.message()
        admin.ok("POST", "/commands/add-messages", json={"messages": [mine, theirs]})
        eventually(lambda: tenant.sink.by_id(mine["id"]) and other.sink.by_id(theirs["id"]), what="both")
        assert tenant.sink.by_id(theirs["id"]) == [] and other.sink.by_id(mine["id"]) == []

    def test_run_now_triggers_dispatch_for_specified_tenant(self, admin: ApiClient, tenant: TenantHandle) -> None:
        admin.ok("POST", "/commands/suspend", params={"tenant_id": tenant.id})
        msg = tenant.message()
        admin.ok("POST", "/commands/add-messages", json={"messages": [msg]})
        admin.ok("POST", "/commands/activate", params={"tenant_id": tenant.id})
        assert admin.ok("POST", "/commands/run-now", params={"tenant_id": tenant.id}) == {"ok": True}
        eventually(lambda: tenant.sink.by_id(msg["id"]), timeout=5, what="dispatch after run-now")
        assert admin.post("/commands/run-now", params={"tenant_id": "no-such-tenant"}).status_code == 404


class TestSecurityInputSanitization:
    def test_sql_injection_in_tenant_id_handled_safely(
        self, admin: ApiClient, make_tenant: TenantFactory, sink: SmtpSink
    ) -> None:
        evil = "t1'; DROP TABLE tenants; --"
        handle = make_tenant(sink, tenant={"id": evil})
        assert admin.ok("GET", f"/tenant/{quote(evil, safe='')}")["id"] == evil
        msg = handle.message()
        admin.ok("POST", "/commands/add-messages", json={"messages": [msg]})
        eventually(lambda: handle.sink.by_id(msg["id"]), what="delivery for the odd tenant id")
        assert any(t["id"] == evil for t in admin.ok("GET", "/tenants")["tenants"])
        assert admin.messages(evil)[0]["tenant_id"] == evil

    def test_sql_injection_in_message_id_handled_safely(self, admin: ApiClient, tenant: TenantHandle) -> None:
        evil = "m' OR '1'='1"
        msg = tenant.message(id=evil)
        admin.ok("POST", "/commands/add-messages", json={"messages": [msg]})
        eventually(lambda: tenant.sink.by_id(evil), what="delivery")
        body = admin.ok(
            "POST", "/commands/delete-messages", params={"tenant_id": tenant.id}, json={"ids": ["x' OR '1'='1"]}
        )
        assert body["removed"] == 0 and admin.message(tenant.id, evil) is not None

    def test_xss_in_subject_stored_literally_not_executed(self, admin: ApiClient, tenant: TenantHandle) -> None:
        subject = '<script>alert("x")</script><img src=x onerror=alert(1)>'
        msg = tenant.message(subject=subject)
        admin.ok("POST", "/commands/add-messages", json={"messages": [msg]})
        assert eventually(lambda: tenant.sink.by_id(msg["id"]), what="delivery")[0].message["Subject"] == subject
        assert admin.message(tenant.id, msg["id"])["message"]["subject"] == subject

    def test_path_traversal_attempts_handled_safely(self, admin: ApiClient, tenant: TenantHandle) -> None:
        for path in ("/tenant/..%2F..%2Fetc%2Fpasswd", "/tenant/../../etc/passwd", "/../../etc/passwd"):
            response = admin.get(path)
            assert response.status_code in (403, 404), path
            assert "root:" not in response.text
        error_msg = tenant.message(
            attachments=[{"filename": "../../passwd", "storage_path": "/etc/passwd", "fetch_mode": "filesystem"}]
        )
        admin.ok("POST", "/commands/add-messages", json={"messages": [error_msg]})
        record = eventually(
            lambda: (m := admin.message(tenant.id, error_msg["id"])) and m["status"] == "error" and m, what="refused"
        )
        assert record["error"] == "Attachment fetch failed for passwd: filesystem attachments are disabled"

    def test_large_payloads_dont_crash_server(self, admin: ApiClient, tenant: TenantHandle) -> None:
        big = tenant.message(body="é" * 400_000)  # about 2.4 MB of JSON
        response = admin.post("/commands/add-messages", json={"messages": [big]})
        assert response.status_code == 200
        eventually(lambda: tenant.sink.by_id(big["id"]), what="big delivery")
        huge = admin.post("/commands/add-messages", json={"messages": [tenant.message(body="x" * 6_000_000)]})
        assert huge.status_code == 413
        assert admin.get("/health").json() == {"status": "ok"}
