"""A tenant's dispatch run from a test, which has no event loop of its own."""

from __future__ import annotations

import asyncio

from chalicelib.services.dispatch import serve
from chalicelib.services.outcomes import RunSummary
from chalicelib.services.ports import Ports


def dispatch_tenant(ports: Ports, tenant_id: str, owner: str | None = None, budget_seconds: float = 0.0) -> RunSummary:
    """services.dispatch.serve, run to its end (one run unless given a budget)."""
    return asyncio.run(serve(ports, tenant_id, owner, budget_seconds))
