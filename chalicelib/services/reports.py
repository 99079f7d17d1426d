"""Delivery reports to the tenant's client application (contract 5.10)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.adapters import http
from chalicelib.domain.attachments import signature
from chalicelib.domain.reports import MAX_ENTRIES, backoff, empty_sync_due, entry, read_answer
from chalicelib.services.ports import Ports
from chalicelib.services.tenants import client_auth

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


def report_tenant(ports: Ports, tenant_id: str, dispatch: Callable[[], Any] | None = None) -> ReportResult:
    """Send this tenant's pending entries (or an empty sync when due), one request at a time.

    ``dispatch`` runs when the client answers ``queued`` > 0, before the next request.
    """
    result = ReportResult()
    now = ports.clock()
    tenant = ports.store.take_report_lease(tenant_id, now, LEASE_SECONDS)
    if tenant is None:
        return result  # another report of this tenant is in flight
    base = (tenant.get("client_base_url") or "").rstrip("/")
    if not base:
        ports.store.release_report_lease(tenant_id)
        return result
    if tenant.get("report_next_attempt_ts") and tenant["report_next_attempt_ts"] > now:
        ports.store.release_report_lease(tenant_id)
        return result
    url = base + (tenant.get("client_sync_path") or "/mail-proxy/sync")
    auth = client_auth(ports, tenant)
    secret = ports.cipher.decrypt(tenant["signing_secret_enc"])
    clock = tenant.get("last_sync_ts")
    failures = tenant.get("report_failures") or 0
    send_anyway = False  # the client asked for the next request (queued > 0)
    try:
        for _ in range(MAX_ROUNDS):
            items = ports.store.unreported(tenant_id, MAX_ENTRIES)
            now = ports.clock()
            due = empty_sync_due(tenant["active"], clock, now, ports.settings.report_interval)
            if not (items or send_anyway or due):
                break
            body = json.dumps({"delivery_report": [entry(i) for i in items]}).encode()
            headers = {"Content-Type": "application/json",
                       "X-Mail-Proxy-Signature": signature(secret, int(now), body)}
            result.requests += 1
            try:
                status, answer = http.post(ports.settings.outbound, url, body, headers, auth, TIMEOUT)
            except http.FetchError as exc:
                status, answer = 0, b""
                log.warning("delivery report to tenant failed: %s", exc)
            if not 200 <= status < 300:
                failures += 1
                result.failed = True
                retry_at = int(now) + backoff(failures, ports.settings.report_interval)
                ports.store.finish_report(tenant_id, [], int(now), None, failures, retry_at)
                return result
            result.acknowledged += len(items)
            queued, after = read_answer(answer)
            in_dnd = after is not None and after > now
            clock = after if in_dnd else now
            ports.store.finish_report(tenant_id, items, int(now), clock, 0, None)
            ports.store.take_report_lease(tenant_id, ports.clock(), LEASE_SECONDS)
            send_anyway = queued > 0 and not in_dnd
            if send_anyway and dispatch is not None:
                dispatch()
                ports.store.take_report_lease(tenant_id, ports.clock(), LEASE_SECONDS)
            if not (send_anyway or len(items) >= MAX_ENTRIES):
                break
    finally:
        ports.store.release_report_lease(tenant_id)
    return result
