"""Delivery reports to the tenant's client application (docs/api.md §5.10)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from chalicelib.domain.reports import MAX_ENTRIES, backoff, empty_sync_due, entry, read_answer
from chalicelib.errors import FetchError
from chalicelib.services import client_app
from chalicelib.services.ports import Ports

log = logging.getLogger(__name__)

TIMEOUT = 30.0
# A report run holds its tenant for one request at a time (renewed after each): a run that
# died holds the tenant's reports back for this long at most.
LEASE_SECONDS = TIMEOUT + 15.0
MAX_ROUNDS = 20  # requests in one run: bounded even if a client keeps answering queued > 0


@dataclass
class ReportResult:
    requests: int = 0
    acknowledged: int = 0
    failed: bool = False
    # The client answered ``queued`` > 0: dispatch its messages, then report again at once
    # (report_tenant with asked=True).
    queued: bool = False

    def add(self, other: ReportResult) -> None:
        self.requests += other.requests
        self.acknowledged += other.acknowledged
        self.failed = other.failed
        self.queued = other.queued


def report_tenant(ports: Ports, tenant_id: str, asked: bool = False, rounds: int = MAX_ROUNDS) -> ReportResult:
    """Send this tenant's pending entries (or an empty sync when due), one request at a time,
    ``rounds`` at most. Returns with ``queued`` set when the client answers that it queued
    messages: the caller dispatches them, then calls again with ``asked`` (a request goes
    then even with nothing to report)."""
    result = ReportResult()
    now = ports.clock()
    tenant = ports.reports.take_lease(tenant_id, now, LEASE_SECONDS)
    if tenant is None:
        return result  # another report of this tenant is in flight
    url = client_app.url(tenant, "client_sync_path", "/mail-proxy/sync")
    backoff_until = tenant["report_next_attempt_ts"]
    if url is None or (backoff_until is not None and backoff_until > now):
        ports.reports.release_lease(tenant_id)
        return result
    auth = client_app.client_auth(ports, tenant)
    clock = tenant.get("last_sync_ts")
    failures = tenant.get("report_failures") or 0
    send_anyway = asked  # the client asked for the next request (queued > 0)
    try:
        for _ in range(rounds):
            items = ports.reports.unreported(tenant_id, MAX_ENTRIES)
            now = ports.clock()
            due = empty_sync_due(tenant["active"], clock, now, ports.settings.report_interval)
            if not (items or send_anyway or due):
                break
            result.requests += 1
            try:
                status, answer = client_app.post_signed(
                    ports, tenant, url, {"delivery_report": [entry(i) for i in items]}, auth, TIMEOUT
                )
            except FetchError as exc:
                status, answer = 0, b""
                log.warning("delivery report to tenant failed: %s", exc)
            if not 200 <= status < 300:
                failures += 1
                result.failed = True
                retry_at = int(now) + backoff(failures, ports.settings.report_interval)
                ports.reports.finish(tenant_id, [], int(now), None, failures, retry_at)
                return result
            result.acknowledged += len(items)
            queued, after = read_answer(answer)
            in_dnd = after is not None and after > now
            clock = after if in_dnd else now
            ports.reports.finish(tenant_id, items, int(now), clock, 0, None)
            ports.reports.take_lease(tenant_id, ports.clock(), LEASE_SECONDS)
            send_anyway = False
            if queued > 0 and not in_dnd:
                result.queued = True
                break
            if len(items) < MAX_ENTRIES:
                break
    finally:
        ports.reports.release_lease(tenant_id)
    return result
