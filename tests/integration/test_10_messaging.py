"""Catalogue group 10_messaging, against the running stack over HTTP and real SMTP."""

from __future__ import annotations

from tests.support.api import ApiClient
from tests.support.polling import eventually
from tests.support.tenants import TenantHandle


def add(client: ApiClient, *messages: dict, **extra: object) -> dict:
    return client.ok("POST", "/commands/add-messages", json={"messages": list(messages), **extra})


class TestValidation:
    def test_message_without_required_fields_rejected(self, admin: ApiClient, tenant: TenantHandle) -> None:
        incomplete = tenant.message()
        del incomplete["subject"]
        response = admin.post("/commands/add-messages", json={"messages": [incomplete]})
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "messages", 0, "subject"]
        empty = admin.post("/commands/add-messages", json={"messages": [tenant.message(subject="")]})
        assert empty.status_code == 422
        assert admin.messages(tenant.id) == [], "nothing queued on a schema error"

    def test_message_with_nonexistent_account_rejected(self, admin: ApiClient, tenant: TenantHandle) -> None:
        msg = tenant.message(account_id="no-such-account")
        response = admin.post("/commands/add-messages", json={"messages": [msg]})
        assert response.status_code == 400
        assert response.json() == {
            "detail": {"error": None, "rejected": [{"id": msg["id"], "reason": "account not found for tenant"}]}
        }
        assert admin.messages(tenant.id) == []


class TestBasicMessageDispatch:
    def test_plain_text_email_sent_and_received(self, admin: ApiClient, tenant: TenantHandle) -> None:
        msg = tenant.message(subject="Plain hello", body="Line one\nLine two")
        assert add(admin, msg)["queued"] == 1
        received = eventually(lambda: tenant.sink.by_id(msg["id"]), what="delivery")[0]
        email = received.message
        assert email["Subject"] == "Plain hello"
        assert email.get_content_type() == "text/plain"
        assert email.get_content().replace("\r\n", "\n").rstrip("\n") == "Line one\nLine two"
        assert received.sender == "sender@example.com"
        record = eventually(
            lambda: (m := admin.message(tenant.id, msg["id"])) and m["status"] == "sent" and m, what="status sent"
        )
        assert isinstance(record["sent_ts"], int)

    def test_html_email_content_preserved(self, admin: ApiClient, tenant: TenantHandle) -> None:
        html = "<html><body><h1>Title</h1><p>Para &amp; <b>bold</b></p></body></html>"
        msg = tenant.message(body=html, content_type="html")
        add(admin, msg)
        email = eventually(lambda: tenant.sink.by_id(msg["id"]), what="delivery")[0].message
        assert email.get_content_type() == "text/html"
        assert email.get_content().rstrip("\r\n") == html

    def test_cc_and_bcc_recipients_receive_email(self, admin: ApiClient, tenant: TenantHandle) -> None:
        msg = tenant.message(to="to1@example.com, to2@example.com", cc=["cc@example.com"], bcc="hidden@example.com")
        add(admin, msg)
        received = eventually(lambda: tenant.sink.by_id(msg["id"]), what="delivery")[0]
        assert received.recipients == ["to1@example.com", "to2@example.com", "cc@example.com", "hidden@example.com"]
        assert received.message["Cc"] == "cc@example.com"
        assert received.message["To"] == "to1@example.com, to2@example.com"
        assert "Bcc" not in received.message and b"hidden@example.com" not in received.data

    def test_custom_headers_included_in_sent_email(self, admin: ApiClient, tenant: TenantHandle) -> None:
        msg = tenant.message(
            headers={"X-Campaign": "autumn", "X-Count": 3, "X-Skip": None, "X-Genro-Mail-ID": "spoofed"},
            reply_to="reply@example.com",
            message_id="<abc@example.com>",
        )
        add(admin, msg)
        email = eventually(lambda: tenant.sink.by_id(msg["id"]), what="delivery")[0].message
        assert email["X-Campaign"] == "autumn" and email["X-Count"] == "3"
        assert "X-Skip" not in email
        assert email.get_all("X-Genro-Mail-ID") == [msg["id"]]
        assert email["Reply-To"] == "reply@example.com"
        assert email["Message-ID"] == "<abc@example.com>"


class TestMessageManagement:
    def test_get_messages_returns_message_list(self, admin: ApiClient, tenant: TenantHandle) -> None:
        admin.ok("POST", "/commands/suspend", params={"tenant_id": tenant.id})
        first, second = tenant.message(priority=3), tenant.message(priority="high", batch_code="b1")
        add(admin, first, second)
        records = admin.messages(tenant.id)
        assert [r["id"] for r in records] == [second["id"], first["id"]], "ordered by priority"
        assert {r["status"] for r in records} == {"suspended"}
        assert records[0]["priority"] == 1 and records[0]["message"]["priority"] == 1
        assert records[0]["batch_code"] == "b1" and records[0]["retry_count"] == 0
        assert records[0]["tenant_name"] == "Test Tenant" and "pk" in records[0]
        assert "history" not in records[0]
        with_history = admin.messages(tenant.id, include_history="true")
        assert all(r["history"] == [] for r in with_history)
        bad = admin.get("/messages", params={"tenant_id": tenant.id, "active_only": "maybe"})
        assert bad.status_code == 422

    def test_delete_messages_removes_messages(self, admin: ApiClient, tenant: TenantHandle) -> None:
        admin.ok("POST", "/commands/suspend", params={"tenant_id": tenant.id})
        keep, drop = tenant.message(), tenant.message()
        add(admin, keep, drop)
        body = admin.ok(
            "POST",
            "/commands/delete-messages",
            params={"tenant_id": tenant.id},
            json={"ids": [drop["id"], "never-existed", "never-existed"]},
        )
        assert body == {"ok": True, "removed": 1, "not_found": [], "unauthorized": ["never-existed"]}
        assert [m["id"] for m in admin.messages(tenant.id)] == [keep["id"]]


class TestBatchOperations:
    def test_multiple_messages_enqueued_in_single_request(self, admin: ApiClient, tenant: TenantHandle) -> None:
        messages = [tenant.message(subject=f"Bulk {i}") for i in range(25)]
        assert add(admin, *messages) == {"ok": True, "queued": 25, "rejected": []}
        eventually(lambda: len(tenant.sink.received) == 25, what="25 deliveries")
        assert sorted(tenant.sink.ids()) == sorted(m["id"] for m in messages)

    def test_duplicate_message_ids_rejected(self, admin: ApiClient, tenant: TenantHandle) -> None:
        admin.ok("POST", "/commands/suspend", params={"tenant_id": tenant.id})
        msg = tenant.message()
        body = add(admin, msg, dict(msg, subject="second copy"))
        assert body["queued"] == 1
        assert body["rejected"] == [{"id": msg["id"], "reason": "duplicate id in request"}]
        stored = admin.messages(tenant.id)
        assert len(stored) == 1 and stored[0]["message"]["subject"] == msg["subject"]


class TestBatchCodeOperations:
    def test_messages_with_batch_code_stored_correctly(self, admin: ApiClient, tenant: TenantHandle) -> None:
        admin.ok("POST", "/commands/suspend", params={"tenant_id": tenant.id, "batch_code": "news-1"})
        msg = tenant.message(batch_code="news-1")
        add(admin, msg)
        record = admin.message(tenant.id, msg["id"])
        assert record is not None
        assert record["batch_code"] == "news-1" and record["message"]["batch_code"] == "news-1"

    def test_suspend_only_affects_specific_batch_code(self, admin: ApiClient, tenant: TenantHandle) -> None:
        body = admin.ok("POST", "/commands/suspend", params={"tenant_id": tenant.id, "batch_code": "held"})
        assert body["suspended_batches"] == ["held"] and body["batch_code"] == "held"
        held, free, plain = (tenant.message(batch_code="held"), tenant.message(batch_code="free"), tenant.message())
        add(admin, held, free, plain)
        eventually(lambda: tenant.sink.by_id(free["id"]) and tenant.sink.by_id(plain["id"]), what="unheld deliveries")
        assert tenant.sink.by_id(held["id"]) == []
        assert admin.message(tenant.id, held["id"])["status"] == "suspended"

    def test_activate_resumes_specific_batch_code(self, admin: ApiClient, tenant: TenantHandle) -> None:
        admin.ok("POST", "/commands/suspend", params={"tenant_id": tenant.id, "batch_code": "a"})
        admin.ok("POST", "/commands/suspend", params={"tenant_id": tenant.id, "batch_code": "b"})
        a, b = tenant.message(batch_code="a"), tenant.message(batch_code="b")
        add(admin, a, b)
        body = admin.ok("POST", "/commands/activate", params={"tenant_id": tenant.id, "batch_code": "a"})
        assert body["suspended_batches"] == ["b"]
        eventually(lambda: tenant.sink.by_id(a["id"]), what="batch a delivered")
        assert tenant.sink.by_id(b["id"]) == []
        assert admin.message(tenant.id, b["id"])["status"] == "suspended"

    def test_other_batches_unaffected_by_suspend(
        self, admin: ApiClient, tenant: TenantHandle, make_tenant, sink2
    ) -> None:
        other = make_tenant(sink2)
        admin.ok("POST", "/commands/suspend", params={"tenant_id": tenant.id, "batch_code": "x"})
        mine = tenant.message(batch_code="y")
        theirs = other.message(batch_code="x")
        add(admin, mine)
        add(admin, theirs)
        eventually(lambda: tenant.sink.by_id(mine["id"]), what="other batch delivered")
        eventually(lambda: other.sink.by_id(theirs["id"]), what="same code, other tenant delivered")

    def test_suspended_batch_messages_remain_pending(self, admin: ApiClient, tenant: TenantHandle) -> None:
        admin.ok("POST", "/commands/suspend", params={"tenant_id": tenant.id, "batch_code": "wait"})
        msg = tenant.message(batch_code="wait", priority="immediate")
        marker = tenant.message(priority="low")
        add(admin, msg, marker)
        admin.ok("POST", "/commands/run-now", params={"tenant_id": tenant.id})
        # The low-priority marker goes out only after the dispatcher has passed the held one.
        eventually(lambda: tenant.sink.by_id(marker["id"]), what="marker delivered")
        assert admin.message(tenant.id, msg["id"])["status"] == "suspended"
        body = admin.ok("POST", "/commands/suspend", params={"tenant_id": tenant.id, "batch_code": "wait"})
        assert body["pending_messages"] == 1
        active = admin.messages(tenant.id, active_only="1")
        assert [m["id"] for m in active] == [msg["id"]]
        assert tenant.sink.by_id(msg["id"]) == []


class TestPriorityHandling:
    def test_higher_priority_messages_sent_first(self, admin: ApiClient, tenant: TenantHandle) -> None:
        admin.ok("POST", "/commands/suspend", params={"tenant_id": tenant.id})
        low = [tenant.message(priority="low") for _ in range(6)]
        urgent = [tenant.message(priority="immediate") for _ in range(6)]
        add(admin, *low)
        add(admin, *urgent)
        admin.ok("POST", "/commands/activate", params={"tenant_id": tenant.id})
        eventually(lambda: len(tenant.sink.received) == 12, what="12 deliveries")
        order = tenant.sink.ids()
        assert set(order[:6]) == {m["id"] for m in urgent}, order
