"""Delivery reports (docs/api.md §5.10) and retention (5.12) against a client echo server."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from tests.support.api import ApiClient
from tests.support.echo import EchoServer
from tests.support.polling import eventually
from tests.support.smtp import Behaviour, SmtpSink
from tests.support.tenants import TenantFactory, TenantHandle


@pytest.fixture
def reported(make_tenant: TenantFactory, sink: SmtpSink, echo: EchoServer) -> TenantHandle:
    return make_tenant(
        sink, tenant={"client_base_url": echo.url + "/", "client_auth": {"method": "bearer", "token": "client-token"}}
    )


def entries(echo: EchoServer) -> list[dict]:
    return [e for r in echo.requests for e in json.loads(r["body"])["delivery_report"]]


def entry_for(echo: EchoServer, msg_id: str, key: str) -> dict | None:
    return next((e for e in entries(echo) if e["id"] == msg_id and key in e), None)


class TestDeliveryReports:
    def test_success_report_sent_to_client_endpoint(
        self, admin: ApiClient, reported: TenantHandle, echo: EchoServer
    ) -> None:
        msg = reported.message()
        admin.ok("POST", "/commands/add-messages", json={"messages": [msg]})
        entry = eventually(lambda: entry_for(echo, msg["id"], "sent_ts"), what="sent entry reported")
        assert set(entry) == {"id", "sent_ts"} and isinstance(entry["sent_ts"], int)
        request = next(r for r in echo.requests if msg["id"].encode() in r["body"])
        assert request["path"] == "/mail-proxy/sync"
        assert request["headers"]["Authorization"] == "Bearer client-token"
        eventually(lambda: (admin.message(reported.id, msg["id"]) or {}).get("reported_ts"), what="reported_ts")

    def test_report_signature_verifies_with_the_signing_secret(
        self, admin: ApiClient, make_tenant: TenantFactory, sink: SmtpSink, echo: EchoServer
    ) -> None:
        # The client URL only once the secret is rotated: a tick's empty sync signed with the
        # first secret could otherwise land after the rotation and be taken for the answer to it.
        handle = make_tenant(sink)
        secret = admin.ok("POST", f"/tenant/{handle.id}/signing-secret")["signing_secret"]
        admin.ok("PUT", f"/tenant/{handle.id}", json={"client_base_url": echo.url})
        admin.ok("POST", "/commands/run-now", params={"tenant_id": handle.id})
        request = eventually(lambda: echo.requests and echo.requests[-1], what="a report request")
        t, v1 = (part.split("=", 1)[1] for part in request["headers"]["X-Mail-Proxy-Signature"].split(","))
        expected = hmac.new(secret.encode(), t.encode() + b"." + request["body"], hashlib.sha256).hexdigest()
        assert v1 == expected

    def test_error_report_sent_to_client_endpoint(
        self, admin: ApiClient, reported: TenantHandle, echo: EchoServer
    ) -> None:
        reported.sink.behaviour = Behaviour(data_reply="550 5.1.1 No such mailbox")
        msg = reported.message()
        admin.ok("POST", "/commands/add-messages", json={"messages": [msg]})
        entry = eventually(lambda: entry_for(echo, msg["id"], "error"), what="error entry")
        assert entry["error"] == "5.1.1 No such mailbox (SMTP 550)" and isinstance(entry["error_ts"], int)

    def test_report_includes_both_success_and_error(
        self, admin: ApiClient, reported: TenantHandle, echo: EchoServer
    ) -> None:
        reported.sink.behaviour = Behaviour(refuse_recipients={"bad@example.com"})
        good, bad = reported.message(), reported.message(to="bad@example.com")
        admin.ok("POST", "/commands/add-messages", json={"messages": [good, bad]})
        eventually(
            lambda: entry_for(echo, good["id"], "sent_ts") and entry_for(echo, bad["id"], "error"), what="both entries"
        )

    def test_rejections_are_reported(self, admin: ApiClient, reported: TenantHandle, echo: EchoServer) -> None:
        msg = reported.message(account_id="missing")
        assert admin.post("/commands/add-messages", json={"messages": [msg]}).status_code == 400
        admin.ok("POST", "/commands/run-now", params={"tenant_id": reported.id})
        entry = eventually(lambda: entry_for(echo, msg["id"], "error"), what="rejection entry")
        assert entry["error"] == "account not found for tenant"

    def test_failed_report_is_resent_after_backoff(
        self, admin: ApiClient, reported: TenantHandle, echo: EchoServer
    ) -> None:
        echo.status = 503
        msg = reported.message()
        admin.ok("POST", "/commands/add-messages", json={"messages": [msg]})
        eventually(lambda: entry_for(echo, msg["id"], "sent_ts"), what="first attempt")
        echo.status = 200
        # 5 s backoff, then the same entry again (a tick is 1 s).
        eventually(lambda: sum(1 for e in entries(echo) if e["id"] == msg["id"]) >= 2, timeout=20, what="entry resent")
        eventually(lambda: (admin.message(reported.id, msg["id"]) or {}).get("reported_ts"), what="acknowledged")

    def test_run_now_sends_an_empty_report_request(
        self, admin: ApiClient, reported: TenantHandle, echo: EchoServer
    ) -> None:
        eventually(lambda: echo.requests, what="the first empty sync")
        before = len(echo.requests)
        admin.ok("POST", "/commands/run-now", params={"tenant_id": reported.id})
        eventually(lambda: len(echo.requests) > before, timeout=5, what="run-now report request")
        assert json.loads(echo.requests[-1]["body"]) == {"delivery_report": []}

    def test_next_sync_after_sets_do_not_disturb(
        self, admin: ApiClient, reported: TenantHandle, echo: EchoServer
    ) -> None:
        echo.answer = {"ok": True, "next_sync_after": 4_000_000_000}
        admin.ok("POST", "/commands/run-now", params={"tenant_id": reported.id})
        eventually(lambda: echo.requests, what="a report request")
        status = eventually(
            lambda: next(
                (
                    t
                    for t in admin.ok("GET", "/tenants/sync-status")["tenants"]
                    if t["id"] == reported.id and t["in_dnd"]
                ),
                None,
            ),
            what="in DND",
        )
        assert status["last_sync_ts"] == 4_000_000_000 and status["next_sync_due"] is False


class TestRetentionCleanup:
    def test_old_reported_messages_cleaned_up(self, admin: ApiClient, reported: TenantHandle) -> None:
        msg = reported.message()
        admin.ok("POST", "/commands/add-messages", json={"messages": [msg]})
        eventually(lambda: (admin.message(reported.id, msg["id"]) or {}).get("reported_ts"), what="acknowledged")
        kept = admin.ok("POST", "/commands/cleanup-messages", params={"tenant_id": reported.id}, json={})
        assert kept == {"ok": True, "removed": 0}, "within retention_days"
        body = admin.ok(
            "POST", "/commands/cleanup-messages", params={"tenant_id": reported.id}, json={"older_than_seconds": -5}
        )
        assert body == {"ok": True, "removed": 1}
        assert admin.message(reported.id, msg["id"]) is None

    def test_messages_without_reported_ts_preserved(self, admin: ApiClient, tenant: TenantHandle) -> None:
        msg = tenant.message()
        admin.ok("POST", "/commands/add-messages", json={"messages": [msg]})
        eventually(lambda: (admin.message(tenant.id, msg["id"]) or {}).get("status") == "sent", what="sent")
        body = admin.ok(
            "POST", "/commands/cleanup-messages", params={"tenant_id": tenant.id}, json={"older_than_seconds": 0}
        )
        assert body["removed"] == 0 and admin.message(tenant.id, msg["id"]) is not None
