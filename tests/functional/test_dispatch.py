"""Dispatch over real PostgreSQL and real SMTP servers: outcomes, retries, limits, faults."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable

import pytest

from chalicelib.domain.work_records import TenantWork
from chalicelib.services import control
from chalicelib.services.ports import Ports
from chalicelib.services.scheduler import retry_tick
from tests.support.pool import drain_pool
from tests.support.runs import dispatch_tenant
from tests.support.smtp import Behaviour, SmtpSink
from tests.support.world import ADMIN, Clock, World


def test_accepted_message_is_sent_with_event_and_counter(world: World) -> None:
    msg = world.message()
    world.submit(msg)
    summary = dispatch_tenant(world.ports, world.tenant_id)
    assert summary.sent == 1
    row = world.row(msg["id"])
    assert row["status"] == "sent" and row["sent_ts"] is not None
    assert row["claim_owner"] is None
    assert [e["event_type"] for e in world.events(msg["id"])] == ["sent"]
    assert world.sink.by_id(msg["id"])


def test_550_marks_message_as_error_with_smtp_details(world: World) -> None:
    world.sink.behaviour = Behaviour(data_reply="550 5.7.1 Message rejected as spam")
    msg = world.message()
    world.submit(msg)
    dispatch_tenant(world.ports, world.tenant_id)
    row = world.row(msg["id"])
    assert row["status"] == "error"
    assert row["error"] == "5.7.1 Message rejected as spam (SMTP 550)"
    assert row["error_ts"] == row["sent_ts"]
    assert [e["event_type"] for e in world.events(msg["id"])] == ["error"]


def test_451_defers_with_retry_count_and_delay(world: World) -> None:
    clock = Clock(1_800_000_000)
    ports = dataclasses.replace(world.ports, clock=clock)
    world.sink.behaviour = Behaviour(data_reply="451 4.7.1 Try again later")
    msg = world.message()
    world.submit(msg)
    dispatch_tenant(ports, world.tenant_id)
    row = world.row(msg["id"])
    assert (row["status"], row["retry_count"], row["deferred_ts"]) == ("pending", 1, 1_800_000_060)
    assert row["last_error"] == "4.7.1 Try again later (SMTP 451)"
    [event] = world.events(msg["id"])
    assert (event["event_type"], event["event_ts"]) == ("deferred", 1_800_000_060)
    # Not due before its time; due after it, and the second failure waits the second delay.
    assert dispatch_tenant(ports, world.tenant_id).claimed == 0
    clock.now = 1_800_000_060
    dispatch_tenant(ports, world.tenant_id)
    row = world.row(msg["id"])
    assert (row["retry_count"], row["deferred_ts"]) == (2, 1_800_000_360)


def test_retries_run_out_into_an_error(make_world: Callable[..., World], make_ports: Callable[..., Ports]) -> None:
    ports = make_ports(MAILPROXY_MAX_RETRIES="2", MAILPROXY_RETRY_DELAYS="0")
    world = make_world(ports)
    world.sink.behaviour = Behaviour(data_reply="421 4.3.2 Service not available")
    msg = world.message()
    world.submit(msg)
    for _ in range(3):
        dispatch_tenant(ports, world.tenant_id)
    row = world.row(msg["id"])
    assert row["status"] == "error" and row["retry_count"] == 2
    assert row["error"].startswith("Max retries (2) exceeded: ")
    assert world.sink.attempts == 3, "attempts = max retries + 1"


def test_partially_refused_recipients_still_count_as_sent(world: World) -> None:
    world.sink.behaviour = Behaviour(refuse_recipients={"gone@example.com"})
    msg = world.message(to=["ok@example.com", "gone@example.com"])
    world.submit(msg)
    dispatch_tenant(world.ports, world.tenant_id)
    [event] = world.events(msg["id"])
    assert event["event_type"] == "sent"
    assert list(event["metadata"]["refused_recipients"]) == ["gone@example.com"]


def test_all_recipients_refused_is_classified_by_the_refusal_code(world: World) -> None:
    world.sink.behaviour = Behaviour(rcpt_reply="450 4.2.1 Mailbox busy")
    msg = world.message()
    world.submit(msg)
    dispatch_tenant(world.ports, world.tenant_id)
    assert world.row(msg["id"])["retry_count"] == 1


def test_smtp_server_down_defers_and_loses_nothing(make_world: Callable[..., World], ports: Ports) -> None:
    dead = SmtpSink()  # a free port nobody listens on
    world = make_world(ports, smtp=dead)
    msg = world.message()
    world.submit(msg)
    dispatch_tenant(ports, world.tenant_id)
    row = world.row(msg["id"])
    assert row["status"] == "pending" and row["retry_count"] == 1
    assert row["last_error"]


def test_hanging_server_times_out_into_a_deferral(
    make_world: Callable[..., World], make_ports: Callable[..., Ports]
) -> None:
    ports = make_ports(MAILPROXY_SMTP_TIMEOUT="0.5")
    world = make_world(ports)
    world.sink.behaviour = Behaviour(hang_seconds=3)
    msg = world.message()
    world.submit(msg)
    dispatch_tenant(ports, world.tenant_id)
    row = world.row(msg["id"])
    assert row["status"] == "pending" and row["retry_count"] == 1


def dispatch_concurrently(world: World, runs: int) -> None:
    """Several dispatch runs for one tenant at once, then runs until nothing is left."""
    threads = [threading.Thread(target=dispatch_tenant, args=(world.ports, world.tenant_id)) for _ in range(runs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    while dispatch_tenant(world.ports, world.tenant_id).claimed:
        pass


def test_concurrent_dispatchers_never_send_a_message_twice(world: World) -> None:
    messages = [world.message() for _ in range(60)]
    world.submit(*messages)
    dispatch_concurrently(world, runs=4)
    ids = world.sink.ids()
    assert sorted(ids) == sorted(m["id"] for m in messages), "each message exactly once"


def test_concurrent_runs_keep_an_account_within_its_connection_limit(
    make_world: Callable[..., World], ports: Ports
) -> None:
    # Small batches: every run finds work, so the runs really overlap.
    world = make_world(ports, account={"batch_size": 3})
    world.sink.behaviour = Behaviour(hang_seconds=0.2)
    messages = [world.message() for _ in range(12)]
    world.submit(*messages)
    dispatch_concurrently(world, runs=3)
    assert sorted(world.sink.ids()) == sorted(m["id"] for m in messages)
    assert world.sink.max_in_data <= world.ports.settings.max_connections_per_account


def test_expired_lease_of_a_crashed_dispatcher_makes_the_message_due_again(world: World) -> None:
    clock = Clock(1_800_000_000)
    ports = dataclasses.replace(world.ports, clock=clock)
    msg = world.message()
    world.submit(msg)
    lease = ports.settings.claim_lease_seconds
    # A dispatcher claims and dies before sending.
    assert ports.dispatch.claim(world.tenant_id, world.account_id, "crashed", int(clock.now), lease, 10)
    assert dispatch_tenant(ports, world.tenant_id).claimed == 0, "leased: not due"
    clock.now += lease + 1
    assert dispatch_tenant(ports, world.tenant_id).sent == 1
    assert len(world.sink.by_id(msg["id"])) == 1


def test_outcome_of_a_stale_lease_holder_is_not_recorded(world: World) -> None:
    msg = world.message()
    world.submit(msg)
    [row] = world.ports.dispatch.claim(world.tenant_id, world.account_id, "old", 0, 1, 10)
    recorded = world.ports.dispatch.record_outcomes(
        "someone-else",
        [{"pk": str(row["pk"]), "status": "sent", "event": {"type": "sent", "ts": 1}, "metrics": ["sent"]}],
    )
    assert not recorded
    assert world.row(msg["id"])["status"] == "pending"


def test_priority_zero_messages_finish_before_others_start(world: World) -> None:
    control.suspend(world.ports, ADMIN, world.tenant_id, None)
    low = [world.message(priority=3) for _ in range(5)]
    urgent = [world.message(priority=0) for _ in range(5)]
    world.submit(*low, *urgent)
    control.activate(world.ports, ADMIN, world.tenant_id, None)
    dispatch_tenant(world.ports, world.tenant_id)
    assert set(world.sink.ids()[:5]) == {m["id"] for m in urgent}


def test_inactive_tenant_is_not_dispatched(world: World) -> None:
    from chalicelib.services import tenants

    tenants.update(world.ports, ADMIN, world.tenant_id, {"active": False})
    msg = world.message()
    world.submit(msg)
    assert dispatch_tenant(world.ports, world.tenant_id).claimed == 0
    tenants.update(world.ports, ADMIN, world.tenant_id, {"active": True})
    assert dispatch_tenant(world.ports, world.tenant_id).sent == 1


def test_deferred_ts_in_the_future_is_honoured(world: World) -> None:
    clock = Clock(1_800_000_000)
    ports = dataclasses.replace(world.ports, clock=clock)
    msg = world.message(deferred_ts=1_800_000_100)
    world.submit(msg)
    assert dispatch_tenant(ports, world.tenant_id).claimed == 0
    clock.now = 1_800_000_100
    assert dispatch_tenant(ports, world.tenant_id).sent == 1


@pytest.mark.parametrize("behavior", ["defer", "reject"])
def test_rate_limit_per_minute(make_world: Callable[..., World], ports: Ports, behavior: str) -> None:
    clock = Clock(1_800_000_010)  # 10 s into a minute window
    ports = dataclasses.replace(ports, clock=clock)
    world = make_world(ports, account={"limit_per_minute": 2, "limit_behavior": behavior})
    messages = [world.message() for _ in range(5)]
    world.submit(*messages)
    dispatch_tenant(ports, world.tenant_id)
    assert len(world.sink.received) == 2
    rows = [world.row(m["id"]) for m in messages]
    limited = [r for r in rows if r["status"] != "sent"]
    assert len(limited) == 3
    if behavior == "defer":
        assert all(r["deferred_ts"] == 1_800_000_060 and r["retry_count"] == 0 for r in limited)
        assert world.events(limited[0]["id"])[0]["description"] == "rate limit exceeded (per minute)"
        clock.now = 1_800_000_060
        dispatch_tenant(ports, world.tenant_id)
        assert len(world.sink.received) == 4, "the counter resets in the next window"
    else:
        assert all(r["status"] == "error" and r["error"] == "rate_limit_exceeded" for r in limited)
    counters = {(r["name"]): r["value"] for r in ports.metrics.rows()[0] if r["account_id"] == world.account_id}
    assert counters["rate_limited"] >= 3


def test_a_rate_limited_backlog_costs_one_event_per_message_not_one_per_window(
    make_world: Callable[..., World], ports: Ports
) -> None:
    clock = Clock(1_800_000_000)
    ports = dataclasses.replace(ports, clock=clock)
    world = make_world(ports, account={"limit_per_minute": 5, "batch_size": 50})
    messages = [world.message() for _ in range(40)]
    world.submit(*messages)
    for window in range(3):
        clock.now = 1_800_000_000 + 60 * window
        first = dispatch_tenant(ports, world.tenant_id)
        assert first.sent == 5 and first.claimed == 5, "the claim takes only the window's room"
        again = dispatch_tenant(ports, world.tenant_id)
        assert again.claimed == 0 and again.deferred == 0, "a held account is not read again in its window"
        assert not ports.dispatch.has_due(world.tenant_id, clock.now), "nor does it look due"
    assert len(world.sink.received) == 15
    deferred_events = [e for m in messages for e in world.events(m["id"]) if e["event_type"] == "deferred"]
    assert len(deferred_events) == 35, "one deferred event per message held, when first held"
    waiting = [world.row(m["id"]) for m in messages if world.row(m["id"])["status"] != "sent"]
    assert len(waiting) == 25 and all(r["deferred_ts"] is not None for r in waiting)
    from chalicelib.services.messages import list_messages

    shown = list_messages(ports, ADMIN, world.tenant_id, True, False)["messages"]
    assert {m["status"] for m in shown} == {"deferred"}
    assert {m["deferred_ts"] for m in shown} == {1_800_000_180}, "the window they wait for, not their first"
    clock.now = 1_800_000_000 + 60 * 3
    assert dispatch_tenant(ports, world.tenant_id).sent == 5


def test_accounts_have_independent_rate_limits(make_world: Callable[..., World], ports: Ports, sink2: SmtpSink) -> None:
    from chalicelib.services import accounts
    from tests.support.factories import account_payload

    world = make_world(ports, account={"limit_per_minute": 1})
    second = account_payload(world.tenant_id, sink2.port, limit_per_minute=1)
    accounts.upsert(ports, ADMIN, second)
    world.submit(world.message(), world.message(account_id=second["id"]))
    dispatch_tenant(ports, world.tenant_id)
    assert len(world.sink.received) == 1 and len(sink2.received) == 1


def test_replacement_keeps_identity_and_resets_retries(world: World) -> None:
    world.sink.behaviour = Behaviour(data_reply="451 later")
    msg = world.message(subject="v1")
    world.submit(msg)
    dispatch_tenant(world.ports, world.tenant_id)
    before = world.row(msg["id"])
    assert before["retry_count"] == 1
    result = world.submit(dict(msg, subject="v2"))
    assert result["queued"] == 1
    after = world.row(msg["id"])
    assert (after["pk"], after["created_at"]) == (before["pk"], before["created_at"])
    assert after["retry_count"] == 0 and after["payload"]["subject"] == "v2"
    assert len(world.events(msg["id"])) == 1, "events are kept"


def test_finished_message_is_already_sent_and_untouched(world: World) -> None:
    msg = world.message()
    world.submit(msg)
    dispatch_tenant(world.ports, world.tenant_id)
    result = world.submit(dict(msg, subject="changed"))
    assert result == {"ok": True, "queued": 0, "rejected": [{"id": msg["id"], "reason": "already sent"}]}
    assert world.row(msg["id"])["payload"]["subject"] == msg["subject"]


def test_queue_send_failure_after_commit_loses_nothing(world: World) -> None:
    broken = dataclasses.replace(world.ports, queues=_BrokenQueues(world.ports.queues))
    msg = world.message()
    result = world.submit.__func__(dataclasses.replace(world, ports=broken), msg)  # type: ignore[attr-defined]
    assert result["queued"] == 1, "the message is committed even though SQS failed"
    drain_pool(world.ports)  # a pooled tenant's records go to the pool
    assert retry_tick(world.ports)["enqueued"].count(world.tenant_id) == 1
    assert world.tenant_id in [r["tenant_id"] for r in drain_pool(world.ports)]


class _BrokenQueues:
    def __init__(self, real: object) -> None:
        self.real = real

    def notify(self, *args: object) -> None:
        from chalicelib.errors import QueueError

        raise QueueError("SQS unavailable")

    def notify_pool(self, records: list[TenantWork]) -> list[str]:
        return [record.tenant_id for record in records]  # as the adapter answers when SQS fails

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)
