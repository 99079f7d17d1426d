"""Retention in bounded batches over PostgreSQL: what goes, what stays, and that a run
resumes where the last one stopped."""

from __future__ import annotations

import dataclasses

import pytest

from chalicelib import limits
from chalicelib.domain import finding
from chalicelib.domain.rate import Window
from chalicelib.services import retention
from tests.support.runs import dispatch_tenant
from tests.support.world import Clock, World

DAY = 86400


def _acknowledge(world: World, at: int) -> None:
    """What a delivery report's 200 does: every unreported entry acknowledged at ``at``."""
    ports = world.ports
    ports.reports.finish(world.tenant_id, ports.reports.unreported(world.tenant_id, 10_000), at, None, 0, None)


def _sent(world: World, count: int) -> list[str]:
    messages = [world.message() for _ in range(count)]
    world.submit(*messages)
    while dispatch_tenant(world.ports, world.tenant_id).claimed:
        pass
    return [m["id"] for m in messages]


def _ids(world: World) -> set[str]:
    return {r["id"] for r in world.ports.messages.find(world.tenant_id, False, finding.read({}), None)}


def _later(world: World, seconds: int) -> World:
    return dataclasses.replace(world, ports=dataclasses.replace(world.ports, clock=Clock(world.ports.now() + seconds)))


def test_a_run_removes_batch_by_batch_and_the_next_run_resumes(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _sent(world, 7)
    _acknowledge(world, world.ports.now())
    monkeypatch.setattr(limits, "RETENTION_BATCH", 3)
    later = _later(world, 8 * DAY)  # past the default 7 days
    assert retention.apply(later.ports, budget_seconds=0) == 3  # one batch: the budget is spent
    assert len(_ids(world)) == 4
    assert retention.apply(later.ports) == 4  # resumes, and drains
    assert _ids(world).isdisjoint(ids)


def test_a_message_is_kept_until_its_tenants_retention_and_a_change_applies_at_once(world: World) -> None:
    ids = set(_sent(world, 2))
    _acknowledge(world, world.ports.now())
    assert retention.apply(_later(world, 6 * DAY).ports) == 0 and ids <= _ids(world)
    world.ports.tenants.update(world.tenant_id, {"retention_days": 3})
    assert retention.apply(_later(world, 4 * DAY).ports) == 2 and _ids(world).isdisjoint(ids)


def test_an_unacknowledged_event_after_the_report_keeps_the_message_until_it_is_reported(world: World) -> None:
    (bounced,) = _sent(world, 1)
    _acknowledge(world, world.ports.now())
    world.ports.bounces.record(world.row(bounced)["pk"], world.ports.now(), "hard", "5.1.1", "no such user")
    later = _later(world, 8 * DAY)
    assert retention.apply(later.ports) == 0 and bounced in _ids(world)
    _acknowledge(world, later.ports.now())
    assert retention.apply(_later(world, 16 * DAY).ports) == 1 and bounced not in _ids(world)


def test_unfinished_and_unreported_messages_are_never_removed(world: World) -> None:
    (unreported,) = _sent(world, 1)
    pending = world.message(deferred_ts=world.ports.now() + 30 * DAY)
    world.submit(pending)
    assert retention.apply(_later(world, 60 * DAY).ports, threshold=0) == 0
    assert {unreported, pending["id"]} <= _ids(world)


def test_old_command_log_rows_and_past_rate_windows_are_pruned(world: World) -> None:
    ports = world.ports
    now = ports.now()
    ports.audit.record(now - (limits.COMMAND_LOG_DAYS + 1) * DAY, "addTenant", world.tenant_id, {}, 200)
    ports.audit.record(now, "addTenant", world.tenant_id, {}, 200)
    old_window = Window("day", (now // DAY - limits.RATE_WINDOW_DAYS - 1) * DAY, 1)
    assert ports.rates.take(world.tenant_id, world.account_id, [old_window]) == []  # its one slot
    retention.apply(ports)
    kept = [e["command_ts"] for e in ports.audit.entries(world.tenant_id, None, None, None, None)]
    assert now in kept and all(ts >= now - limits.COMMAND_LOG_DAYS * DAY for ts in kept)
    assert ports.rates.take(world.tenant_id, world.account_id, [old_window]) == [], "its count started again"
