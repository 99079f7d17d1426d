"""A suspended batch's messages are set aside (the ``held`` flag, migration 017) in bounded
steps, brought back on activation, and never sent in between, over PostgreSQL."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from chalicelib import limits
from chalicelib.services import control
from chalicelib.services.scheduler import retry_tick
from tests.support.polling import eventually
from tests.support.pool import drain_pool
from tests.support.runs import dispatch_tenant
from tests.support.world import ADMIN, World


def _held(world: World) -> dict[str, bool]:
    with world.ports.database.statement() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(
            "SELECT id, held FROM messages WHERE tenant_id = %s AND status = 'pending'", (world.tenant_id,)
        ).fetchall()
    return {r["id"]: r["held"] for r in rows}


def _outstanding(world: World) -> list[Any]:
    return [c for c in world.ports.holds.outstanding(100) if c["tenant_id"] == world.tenant_id]


def _send_all(world: World) -> int:
    sent = 0
    while (summary := dispatch_tenant(world.ports, world.tenant_id)).claimed:
        sent += summary.sent
    return sent


def _suspend_unsettled(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Five messages of batch "news", suspended by a request with no budget to set them aside."""
    world.submit(*(world.message(batch_code="news") for _ in range(5)))
    monkeypatch.setattr(limits, "HOLD_REQUEST_BUDGET", 0)
    control.suspend(world.ports, ADMIN, world.tenant_id, "news")


@pytest.fixture
def small_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "HOLD_BATCH", 3)


def test_a_suspended_batch_is_set_aside_step_by_step_and_comes_back_on_activation(
    world: World, small_steps: None
) -> None:
    batch = [world.message(batch_code="news") for _ in range(7)]
    other = [world.message() for _ in range(2)]
    world.submit(*batch, *other)
    control.suspend(world.ports, ADMIN, world.tenant_id, "news")
    assert _held(world) == {**{m["id"]: True for m in batch}, **{m["id"]: False for m in other}}
    assert _outstanding(world) == []  # seven in steps of three, all inside the request
    assert _send_all(world) == 2

    control.activate(world.ports, ADMIN, world.tenant_id, "news")
    assert not any(_held(world).values())
    assert _send_all(world) == 7
    assert {m["id"] for m in batch} <= set(world.sink.ids())


def test_what_a_request_leaves_unfinished_the_retry_tick_finishes(
    world: World, small_steps: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _suspend_unsettled(world, monkeypatch)
    assert not any(_held(world).values()) and len(_outstanding(world)) == 1
    assert _send_all(world) == 0, "the suspension list is the rule, whatever the flags say"

    retry_tick(world.ports)
    assert all(_held(world).values()) and _outstanding(world) == []

    control.activate(world.ports, ADMIN, world.tenant_id, "news")
    assert all(_held(world).values()) and len(_outstanding(world)) == 1
    assert _send_all(world) == 0, "still set aside: not yet due"
    drain_pool(world.ports)
    assert world.tenant_id in retry_tick(world.ports)["enqueued"], "what the tick brings back is enqueued at once"
    assert _outstanding(world) == [] and not any(_held(world).values())
    assert _send_all(world) == 5


def test_a_message_submitted_into_a_suspended_batch_is_held_then_sent_after_activation(world: World) -> None:
    control.suspend(world.ports, ADMIN, world.tenant_id, "news")
    late = world.message(batch_code="news")
    world.submit(late)
    assert _held(world) == {late["id"]: True}
    assert _send_all(world) == 0
    control.activate(world.ports, ADMIN, world.tenant_id, "news")
    assert _send_all(world) == 1 and world.sink.ids() == [late["id"]]


def test_suspending_the_whole_tenant_brings_its_batches_back_for_when_it_returns(world: World) -> None:
    batch = [world.message(batch_code="news") for _ in range(3)]
    world.submit(*batch)
    control.suspend(world.ports, ADMIN, world.tenant_id, "news")
    assert all(_held(world).values())
    # The whole-tenant suspension replaces the batch's: the tenant's return sends everything.
    control.suspend(world.ports, ADMIN, world.tenant_id, None)
    assert not any(_held(world).values())
    assert _send_all(world) == 0
    control.activate(world.ports, ADMIN, world.tenant_id, None)
    assert _send_all(world) == 3


def test_a_suspension_changed_again_mid_settle_ends_as_the_last_change_says(
    world: World, small_steps: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _suspend_unsettled(world, monkeypatch)
    (first,) = _outstanding(world)
    world.ports.holds.settle(world.tenant_id, "news", 3)  # part way
    control.activate(world.ports, ADMIN, world.tenant_id, "news")
    (second,) = _outstanding(world)
    assert second["version"] > first["version"]
    world.ports.holds.finish(world.tenant_id, "news", first["version"])  # a stale settle's end
    assert _outstanding(world) == [second], "only a settle that saw the last change ends it"
    retry_tick(world.ports)
    assert not any(_held(world).values()) and _outstanding(world) == []
    assert _send_all(world) == 5


def test_a_submit_waits_for_an_activation_in_progress_and_reads_what_it_committed(world: World) -> None:
    """Without the wait, a message flagged from the list before the activation committed, and
    written after the activation's settle, would stay set aside for ever."""
    control.suspend(world.ports, ADMIN, world.tenant_id, "news")
    late = world.message(batch_code="news")
    database = world.ports.database
    with database.transaction() as conn:  # type: ignore[attr-defined]
        # What change_suspension does, held open: the tenant row locked, the list changed.
        conn.execute("SELECT 1 FROM tenants WHERE id = %s FOR UPDATE", (world.tenant_id,))
        conn.execute("UPDATE tenants SET suspended_batches = '{}' WHERE id = %s", (world.tenant_id,))
        submitting = threading.Thread(target=world.submit, args=(late,))
        submitting.start()

        def waiting_for_the_lock() -> bool:
            with database.statement() as probe:  # type: ignore[attr-defined]
                row = probe.execute(
                    "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND datname = current_database()"
                ).fetchone()
            return bool(row and row["n"])

        eventually(waiting_for_the_lock, what="the submit waiting for the tenant row")
        assert _held(world) == {}
    submitting.join(10)
    assert _held(world) == {late["id"]: False}
    assert _send_all(world) == 1
