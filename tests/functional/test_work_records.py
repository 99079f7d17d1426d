"""One outstanding work record per tenant: submits and ticks do not stack records that would
start invocations finding the account's lease taken; nothing due is left without one."""

from __future__ import annotations

import dataclasses

from chalicelib import limits
from chalicelib.services.scheduler import retry_tick
from tests.support.pool import drain_pool
from tests.support.runs import dispatch_tenant
from tests.support.world import Clock, World


def _records(world: World) -> list[str]:
    return [r["reason"] for r in drain_pool(world.ports) if r["tenant_id"] == world.tenant_id]


def test_many_submits_for_one_tenant_make_one_work_record(world: World) -> None:
    drain_pool(world.ports)
    for _ in range(5):
        world.submit(world.message())
    assert _records(world) == ["submit"]


def test_a_run_that_ends_clears_the_mark_so_the_next_submit_sends_a_record(world: World) -> None:
    world.submit(world.message())
    assert dispatch_tenant(world.ports, world.tenant_id).sent == 1
    drain_pool(world.ports)
    world.submit(world.message())
    assert _records(world) == ["submit"]


def test_a_message_stored_while_the_mark_was_set_gets_a_continuation_record(world: World) -> None:
    first, second = world.message(), world.message()
    world.submit(first)  # marks the tenant; its record is outstanding
    drain_pool(world.ports)
    # The run's claim happened (nothing sent yet); then this message arrives and its submit
    # sees the mark, so sends nothing: the run's end must notice it.
    world.submit(second)
    assert _records(world) == []
    assert world.ports.dispatch.end_run(world.tenant_id, world.ports.now()) is True
    dispatch_tenant(world.ports, world.tenant_id)
    assert world.sink.by_id(first["id"]) and world.sink.by_id(second["id"])


def test_the_tick_replaces_a_record_presumed_lost_and_not_a_fresh_one(world: World) -> None:
    world.submit(world.message())
    drain_pool(world.ports)  # the record is lost
    now = world.ports.now()
    fresh = dataclasses.replace(world.ports, clock=Clock(now + 1))
    assert world.tenant_id not in retry_tick(fresh)["enqueued"]
    later = dataclasses.replace(world.ports, clock=Clock(now + limits.WORK_RECORD_STALE + 1))
    assert world.tenant_id in retry_tick(later)["enqueued"]
    assert _records(world) == ["tick"]


def test_a_record_that_could_not_be_sent_leaves_no_mark(world: World) -> None:
    world.submit(world.message())
    drain_pool(world.ports)
    world.ports.dispatch.unmark_work([world.tenant_id])  # what enqueue does when a send fails
    assert world.tenant_id in retry_tick(world.ports)["enqueued"]
