"""A delivery report run that died (its process killed mid-request) holds its tenant's
reports back for one request timeout at most, not minutes."""

from __future__ import annotations

import dataclasses

import pytest

from chalicelib.services import reports, tenants
from tests.support.echo import EchoServer
from tests.support.world import ADMIN, World

pytestmark = pytest.mark.functional


def test_a_report_run_that_died_holds_its_tenant_back_for_one_request_timeout_at_most(
    world: World, echo: EchoServer
) -> None:
    tenants.update(world.ports, ADMIN, world.tenant_id, {"client_base_url": echo.url})
    now = world.ports.clock()
    assert world.ports.reports.take_lease(world.tenant_id, now, reports.LEASE_SECONDS) is not None
    # ... and the process holding it was killed: nothing releases it.
    later = dataclasses.replace(world.ports, clock=lambda: now + reports.TIMEOUT + 16)
    assert reports.report_tenant(later, world.tenant_id).requests == 1
    assert len(echo.requests) == 1
