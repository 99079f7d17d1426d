"""A dispatch run writes its outcomes in batches and keeps its connections across batches."""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.services.ports import Ports
from tests.support.runs import dispatch_tenant
from tests.support.smtp import Behaviour
from tests.support.world import World


def _counters(world: World) -> dict[str, int]:
    counters, latency, _ = world.ports.metrics.rows()
    return {r["name"]: int(r["value"]) for r in (*counters, *latency) if r["tenant_id"] == world.tenant_id}


def test_a_runs_outcomes_land_with_one_event_each_and_counters_summed(world: World) -> None:
    messages = [world.message() for _ in range(30)]
    world.submit(*messages)
    summary = dispatch_tenant(world.ports, world.tenant_id)
    assert summary.sent == 30
    for msg in messages:
        assert world.row(msg["id"])["status"] == "sent"
        assert [e["event_type"] for e in world.events(msg["id"])] == ["sent"]
    assert _counters(world)["sent"] == 30


def test_mixed_outcomes_of_one_batch_each_keep_their_own_changes(world: World) -> None:
    world.sink.behaviour = Behaviour(refuse_recipients={"nobody@example.com"})
    good, refused = world.message(), world.message(to=["nobody@example.com"])
    world.submit(good, refused)
    dispatch_tenant(world.ports, world.tenant_id)
    assert world.row(good["id"])["status"] == "sent"
    bad = world.row(refused["id"])
    assert bad["status"] == "error" and bad["error"] and bad["error_ts"]
    counters = _counters(world)
    assert counters["sent"] == 1 and counters["errors"] == 1


def test_outcomes_are_recorded_only_for_the_claims_still_held(world: World) -> None:
    mine, theirs = world.message(), world.message()
    world.submit(mine, theirs)
    rows = world.ports.dispatch.claim(world.tenant_id, world.account_id, "me", 0, 1, 10)
    other = next(r for r in rows if r["id"] == theirs["id"])
    world.ports.dispatch.release_claim(other["pk"], "me", None)
    world.ports.dispatch.claim(world.tenant_id, world.account_id, "another-run", 0, 1, 10)
    outcome = {"status": "sent", "sent_ts": 1, "event": {"type": "sent", "ts": 1}, "metrics": ["sent"]}
    landed = world.ports.dispatch.record_outcomes("me", [{**outcome, "pk": str(r["pk"])} for r in rows])
    assert landed == {str(r["pk"]) for r in rows if r["id"] == mine["id"]}
    assert world.row(theirs["id"])["status"] == "pending"


def test_a_full_batch_is_followed_by_the_next_in_the_same_run_while_the_budget_lasts(
    make_world: Callable[..., World], ports: Ports
) -> None:
    world = make_world(ports, account={"batch_size": 5})
    messages = [world.message() for _ in range(12)]
    world.submit(*messages)
    assert dispatch_tenant(world.ports, world.tenant_id).sent == 5, "no budget: one batch"
    summary = dispatch_tenant(world.ports, world.tenant_id, budget_seconds=60)
    assert summary.sent == 7 and not summary.more_due
    assert sorted(world.sink.ids()) == sorted(m["id"] for m in messages)


def test_a_claim_finds_the_due_messages_behind_a_backlog_deferred_into_the_future(world: World) -> None:
    """Migration 015: the due messages come from two indexes (never deferred, and deferred by
    when they become due), merged in dispatch order; the future ones are never claimed."""
    now = world.ports.now()
    later = [world.message(deferred_ts=now + 3600) for _ in range(5)]
    retried = world.message(deferred_ts=now - 10, priority=3)
    urgent, normal = world.message(priority=0), world.message(priority=2)
    world.submit(*later, retried, urgent, normal)
    assert world.ports.dispatch.has_due(world.tenant_id, now)
    claimed = world.ports.dispatch.claim(world.tenant_id, world.account_id, "me", now, 60, 10)
    assert [m["id"] for m in claimed] == [urgent["id"], normal["id"], retried["id"]]
    assert not world.ports.dispatch.has_due(world.tenant_id, now), "what is left is due in an hour"
    in_an_hour = world.ports.dispatch.claim(world.tenant_id, world.account_id, "later", now + 3600, 60, 10)
    assert {m["id"] for m in later} <= {m["id"] for m in in_an_hour}
