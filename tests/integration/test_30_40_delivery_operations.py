"""Catalogue groups 30_delivery (SMTP errors, retries) and 40_operations (service control,
rate limits, retention) over HTTP against real SMTP servers."""

from __future__ import annotations

from tests.support.api import ApiClient
from tests.support.polling import away_from_minute_boundary, eventually
from tests.support.smtp import Behaviour, SmtpSink
from tests.support.tenants import TenantFactory, TenantHandle


def add(admin: ApiClient, *messages: dict) -> None:
    admin.ok("POST", "/commands/add-messages", json={"messages": list(messages)})


def record(admin: ApiClient, handle: TenantHandle, msg_id: str) -> dict:
    found = admin.message(handle.id, msg_id)
    assert found is not None
    return found


class TestSmtpErrorHandling:
    def test_550_error_marks_message_as_error(self, admin: ApiClient, tenant: TenantHandle) -> None:
        tenant.sink.behaviour = Behaviour(data_reply="550 5.1.1 User unknown")
        msg = tenant.message()
        add(admin, msg)
        rec = eventually(lambda: (r := record(admin, tenant, msg["id"]))["status"] == "error" and r, what="error")
        assert rec["error"] == "5.1.1 User unknown (SMTP 550)" and rec["error_ts"] == rec["sent_ts"]

    def test_451_error_defers_message_for_retry(self, admin: ApiClient, tenant: TenantHandle) -> None:
        tenant.sink.behaviour = Behaviour(data_reply="451 4.3.0 Temporary failure", fail_first=1)
        msg = tenant.message()
        add(admin, msg)
        eventually(lambda: record(admin, tenant, msg["id"])["retry_count"] == 1, what="deferred once")
        rec = eventually(
            lambda: (r := record(admin, tenant, msg["id"]))["status"] == "sent" and r, timeout=15, what="sent on retry"
        )
        assert rec["last_error"] == "4.3.0 Temporary failure (SMTP 451)"
        history = admin.messages(tenant.id, include_history="1")[0]["history"]
        assert [h["event_type"] for h in history] == ["deferred", "sent"]

    def test_452_rate_limit_defers_excess_messages(self, admin: ApiClient, tenant: TenantHandle) -> None:
        admin.ok("POST", "/commands/suspend", params={"tenant_id": tenant.id})
        messages = [tenant.message() for _ in range(4)]
        add(admin, *messages)
        tenant.sink.behaviour = Behaviour(data_reply="452 4.5.3 Too many messages, slow down", fail_first=2)
        admin.ok("POST", "/commands/activate", params={"tenant_id": tenant.id})
        eventually(lambda: len(tenant.sink.received) == 2 and tenant.sink.attempts >= 4, what="first pass")

        # The sink hears an attempt a moment before its outcome is committed (services/outcomes.py
        # writes outcomes in groups right after the SMTP answer): wait for the record, not the wire.
        def refused_twice() -> list[dict] | None:
            found = [m for m in admin.messages(tenant.id) if m["retry_count"] == 1]
            return found if len(found) == 2 else None

        deferred = eventually(refused_twice, what="the two refusals recorded")
        assert len(deferred) == 2 and all("(SMTP 452)" in m["last_error"] for m in deferred)
        eventually(lambda: len(tenant.sink.received) == 4, timeout=15, what="excess sent later")

    def test_random_smtp_behavior_produces_mixed_results(
        self, admin: ApiClient, make_tenant: TenantFactory, sink: SmtpSink
    ) -> None:
        handle = make_tenant(sink)
        sink.behaviour = Behaviour(refuse_recipients={"bad@example.com"}, rcpt_reply=None)
        good = [handle.message() for _ in range(3)]
        bad = [handle.message(to="bad@example.com") for _ in range(2)]
        add(admin, *good, *bad)
        eventually(
            lambda: all(record(admin, handle, m["id"])["status"] in ("sent", "error") for m in good + bad),
            what="all finished",
        )
        statuses = {m["id"]: record(admin, handle, m["id"])["status"] for m in good + bad}
        assert {statuses[m["id"]] for m in good} == {"sent"} and {statuses[m["id"]] for m in bad} == {"error"}


class TestRetryLogic:
    def test_retry_count_increases_on_each_attempt(self, admin: ApiClient, tenant: TenantHandle) -> None:
        tenant.sink.behaviour = Behaviour(data_reply="421 4.7.0 Try later")
        msg = tenant.message()
        add(admin, msg)
        seen: set[int] = set()

        def grew() -> bool:
            seen.add(record(admin, tenant, msg["id"])["retry_count"])
            return max(seen) >= 2

        eventually(grew, timeout=15, what="two retries")
        assert record(admin, tenant, msg["id"])["status"] == "deferred"

    def test_error_field_contains_smtp_error_details(self, admin: ApiClient, tenant: TenantHandle) -> None:
        tenant.sink.behaviour = Behaviour(data_reply="554 5.7.1 Rejected by policy")
        msg = tenant.message()
        add(admin, msg)
        rec = eventually(lambda: (r := record(admin, tenant, msg["id"]))["status"] == "error" and r, what="error")
        assert "5.7.1 Rejected by policy" in rec["error"] and "554" in rec["error"]


class TestServiceControl:
    def test_basic_suspend_activate_cycle_works(self, admin: ApiClient, tenant: TenantHandle) -> None:
        body = admin.ok("POST", "/commands/suspend", params={"tenant_id": tenant.id})
        assert body == {"ok": True, "tenant_id": tenant.id, "suspended_batches": ["*"], "pending_messages": 0}
        msg = tenant.message()
        add(admin, msg)
        assert record(admin, tenant, msg["id"])["status"] == "suspended"
        body = admin.ok("POST", "/commands/activate", params={"tenant_id": tenant.id})
        assert body["suspended_batches"] == []
        eventually(lambda: tenant.sink.by_id(msg["id"]), what="sent after activate")

    def test_suspend_without_tenant_id_rejected(self, admin: ApiClient) -> None:
        response = admin.post("/commands/suspend")
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", "tenant_id"]
        unknown = admin.post("/commands/suspend", params={"tenant_id": "nobody-here"})
        assert unknown.status_code == 400 and unknown.json() == {"detail": "tenant not found"}


class TestExtendedSuspendActivate:
    def test_suspend_and_activate_return_counts(self, admin: ApiClient, tenant: TenantHandle) -> None:
        admin.ok("POST", "/commands/suspend", params={"tenant_id": tenant.id})
        add(admin, tenant.message(batch_code="a"), tenant.message(batch_code="a"), tenant.message())
        body = admin.ok("POST", "/commands/suspend", params={"tenant_id": tenant.id, "batch_code": "a"})
        assert body["pending_messages"] == 2 and body["suspended_batches"] == ["*"], "no-op under *"
        body = admin.ok("POST", "/commands/activate", params={"tenant_id": tenant.id, "batch_code": "*"})
        assert body["pending_messages"] == 3 and "batch_code" not in body

    def test_multiple_suspends_and_activates_are_idempotent(self, admin: ApiClient, tenant: TenantHandle) -> None:
        for _ in range(2):
            body = admin.ok("POST", "/commands/suspend", params={"tenant_id": tenant.id, "batch_code": "z"})
            assert body["suspended_batches"] == ["z"]
        for _ in range(2):
            body = admin.ok("POST", "/commands/activate", params={"tenant_id": tenant.id, "batch_code": "z"})
            assert body["suspended_batches"] == []
        admin.ok("POST", "/commands/suspend", params={"tenant_id": tenant.id})
        refused = admin.post("/commands/activate", params={"tenant_id": tenant.id, "batch_code": "z"})
        assert refused.status_code == 400

    def test_suspend_doesnt_affect_other_tenants(
        self, admin: ApiClient, tenant: TenantHandle, make_tenant: TenantFactory, sink2: SmtpSink
    ) -> None:
        other = make_tenant(sink2)
        admin.ok("POST", "/commands/suspend", params={"tenant_id": tenant.id})
        msg = other.message()
        add(admin, msg)
        eventually(lambda: other.sink.by_id(msg["id"]), what="other tenant unaffected")

    def test_deferred_messages_keep_their_time_through_suspend_and_activate(
        self, admin: ApiClient, tenant: TenantHandle
    ) -> None:
        later = 4_000_000_000
        admin.ok("POST", "/commands/suspend", params={"tenant_id": tenant.id})
        msg = tenant.message(deferred_ts=later)
        add(admin, msg)
        rec = record(admin, tenant, msg["id"])
        assert rec["status"] == "suspended" and rec["deferred_ts"] == later
        admin.ok("POST", "/commands/activate", params={"tenant_id": tenant.id})
        rec = record(admin, tenant, msg["id"])
        assert rec["status"] == "deferred" and rec["deferred_ts"] == later


class TestAccountRateLimiting:
    def test_messages_over_limit_per_minute_are_deferred(
        self, admin: ApiClient, make_tenant: TenantFactory, sink: SmtpSink
    ) -> None:
        handle = make_tenant(sink, account={"limit_per_minute": 2})
        messages = [handle.message() for _ in range(5)]
        away_from_minute_boundary()
        add(admin, *messages)
        eventually(
            lambda: sum(1 for m in admin.messages(handle.id) if m["status"] == "deferred") == 3, what="three deferred"
        )
        assert len(sink.received) == 2
        deferred = [m for m in admin.messages(handle.id) if m["status"] == "deferred"]
        assert all(m["deferred_ts"] % 60 == 0 and m["retry_count"] == 0 for m in deferred)
        metrics = admin.get("/metrics").text
        assert f'gmp_rate_limited_total{{account_id="{handle.account_id}"' in metrics

    def test_per_hour_rate_limit_configuration_accepted(
        self, admin: ApiClient, make_tenant: TenantFactory, sink: SmtpSink
    ) -> None:
        handle = make_tenant(sink, account={"limit_per_hour": 100})
        account = admin.ok("GET", "/accounts", params={"tenant_id": handle.id})["accounts"][0]
        assert account["limit_per_hour"] == 100 and "limit_per_minute" not in account

    def test_limit_behavior_reject_rejects_excess_messages(
        self, admin: ApiClient, make_tenant: TenantFactory, sink: SmtpSink
    ) -> None:
        handle = make_tenant(sink, account={"limit_per_minute": 1, "limit_behavior": "reject"})
        messages = [handle.message() for _ in range(3)]
        away_from_minute_boundary()
        add(admin, *messages)
        eventually(
            lambda: sum(1 for m in admin.messages(handle.id) if m.get("error") == "rate_limit_exceeded") == 2,
            what="two rejected",
        )

    def test_each_account_has_independent_rate_limits(
        self, admin: ApiClient, make_tenant: TenantFactory, sink: SmtpSink, sink2: SmtpSink
    ) -> None:
        handle = make_tenant(sink, account={"limit_per_minute": 1})
        second = {
            "id": "second",
            "tenant_id": handle.id,
            "host": "127.0.0.1",
            "port": sink2.port,
            "limit_per_minute": 1,
            "use_tls": False,
        }
        admin.ok("POST", "/account", json=second)
        away_from_minute_boundary()
        add(admin, handle.message(), handle.message(), handle.message(account_id="second"))
        # Decided once the first account's second message is held back with a due time (its
        # run is then over): a count taken earlier could pass between two deliveries.
        eventually(
            lambda: any(m.get("deferred_ts") for m in admin.messages(handle.id) if m["account_id"] != "second"),
            what="the first account's second message held back by its limit",
        )
        eventually(lambda: len(sink.received) == 1 and len(sink2.received) == 1, what="one per account")
        assert len(sink.received) == 1, "the first account sent no more than its limit"


class TestRetentionCleanup:
    def test_cleanup_only_affects_specified_tenant(
        self, admin: ApiClient, make_tenant: TenantFactory, sink: SmtpSink, echo
    ) -> None:
        one = make_tenant(sink, tenant={"client_base_url": echo.url})
        two = make_tenant(sink, tenant={"client_base_url": echo.url})
        a, b = one.message(), two.message()
        add(admin, a, b)
        for handle, msg in ((one, a), (two, b)):
            eventually(lambda h=handle, m=msg: record(admin, h, m["id"]).get("reported_ts"), what="acked")
        body = admin.ok(
            "POST", "/commands/cleanup-messages", params={"tenant_id": one.id}, json={"older_than_seconds": 0}
        )
        assert body["removed"] == 1
        assert admin.message(one.id, a["id"]) is None and admin.message(two.id, b["id"]) is not None

    def test_retention_period_configurable_per_tenant(
        self, admin: ApiClient, make_tenant: TenantFactory, sink: SmtpSink, echo
    ) -> None:
        keep = make_tenant(sink, tenant={"client_base_url": echo.url, "retention_days": 30})
        drop = make_tenant(sink, tenant={"client_base_url": echo.url, "retention_days": 0})
        k, d = keep.message(), drop.message()
        add(admin, k, d)
        eventually(lambda: record(admin, keep, k["id"]).get("reported_ts"), what="acked")
        # retention_days 0: the retention tick removes it once acknowledged.
        eventually(lambda: admin.message(drop.id, d["id"]) is None, timeout=15, what="removed by the tick")
        assert admin.message(keep.id, k["id"]) is not None
