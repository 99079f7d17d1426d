"""/metrics (docs/api.md §5.13) and /status."""

from __future__ import annotations

import platform
from typing import Any

from chalicelib import VERSION
from chalicelib.config import effective
from chalicelib.domain import metrics
from chalicelib.services.auth import Principal
from chalicelib.services.ports import Ports
from chalicelib.services.scheduler import SCHEDULER_BEAT

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNREADABLE_LISTED = 100    # flagged accounts named by /status and /metrics at most
_LABELS = ["tenant_id", "tenant_name", "account_id", "account_name"]


class _DatabaseCollector:
    """Reads the persisted counters at scrape time, so every instance reports the same.

    ``account_name`` repeats ``account_id``: API v1 names both labels (accounts have no name of
    their own), and dashboards built for v1 select by either, so both stay."""

    def __init__(self, rows: list[dict[str, Any]], pending: int, unreadable: list[dict[str, Any]]) -> None:
        self._rows = rows
        self._pending = pending
        self._unreadable = unreadable

    def collect(self) -> Any:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        families = {
            key: CounterMetricFamily(name, doc, labels=_LABELS)
            for key, (name, doc) in metrics.FAMILIES.items()
        }
        latency: dict[tuple[str, ...], dict[str, int]] = {}
        for row in self._rows:
            labels: tuple[str, ...] = (row["tenant_id"], row["tenant_name"], row["account_id"], row["account_id"])
            family = families.get(row["name"])
            if family is not None:
                family.add_metric(list(labels), float(row["value"]))
            else:
                latency.setdefault(labels, {})[row["name"]] = int(row["value"])
        yield from families.values()
        histogram = HistogramMetricFamily(*metrics.LATENCY_FAMILY, labels=_LABELS)
        for labels, stored in latency.items():
            buckets, total = metrics.latency_series(stored)
            histogram.add_metric(list(labels), buckets, total)
        yield histogram
        flagged = GaugeMetricFamily("gmp_account_secret_unreadable",
                                    "1 for an account whose stored password this deployment's key cannot "
                                    "decrypt (its messages end in error until it is saved again)",
                                    labels=["tenant_id", "account_id"])
        for row in self._unreadable:
            flagged.add_metric([row["tenant_id"], row["account_id"]], 1.0)
        yield flagged
        gauge = GaugeMetricFamily("gmp_pending_messages", "Unfinished messages")
        gauge.add_metric([], float(self._pending))
        yield gauge
        info = GaugeMetricFamily("gmp_build_info", "The running build (always 1)",
                                 labels=["version", "api", "python"])
        info.add_metric([VERSION, "v1", platform.python_version()], 1.0)
        yield info


def metrics_text(ports: Ports) -> str:
    # Imported here: only a scrape needs it, not every cold start of the API.
    from prometheus_client import CollectorRegistry, generate_latest

    rows, pending = ports.metrics.rows()
    unreadable, _ = ports.accounts.unreadable(UNREADABLE_LISTED)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_DatabaseCollector(rows, pending, unreadable))
    return generate_latest(registry).decode()


def status(ports: Ports, principal: Principal) -> dict[str, Any]:
    """Health of every component the API can see; the scheduler by its last heartbeat. The
    admin also sees the settings in force in the API function (secrets never)."""
    database = ports.database.ping()
    queues = ports.queues.ping()
    scheduler: dict[str, Any] = {"healthy": False}
    if database:
        beat = ports.instance.last_beat(SCHEDULER_BEAT)
        # EventBridge fires at least once a minute; allow a few missed ticks.
        allowed = max(3 * ports.settings.schedule_tick, 180)
        scheduler = {"healthy": beat is not None and ports.now() - beat <= allowed}
        if beat is not None:
            scheduler["last_tick_ts"] = beat
    answer: dict[str, Any] = {
        "ok": True,
        "active": ports.settings.scheduler_enabled,
        "aws_endpoint_url": ports.settings.aws_endpoint_url or "aws",
        "components": {
            "database": {"healthy": database},
            "queues": {"healthy": queues},
            "scheduler": scheduler,
        },
    }
    if principal.is_admin:
        if database:
            # Beside the components, not among them: their set is what v1 clients read.
            answer["accounts"] = _accounts(ports)
        answer["settings"] = effective(ports.settings)
    return answer


def _accounts(ports: Ports) -> dict[str, Any]:
    """Accounts the dispatcher could not use: their stored password is unreadable with this
    deployment's key (admin only: it names other tenants' accounts)."""
    flagged, count = ports.accounts.unreadable(UNREADABLE_LISTED)
    part: dict[str, Any] = {"healthy": count == 0}
    if count:
        part["secret_unreadable"] = count
        part["accounts"] = [f"{r['tenant_id']}/{r['account_id']}" for r in flagged]
        part["what_to_do"] = ("set MAILPROXY_ENCRYPTION_KEY back to the key they were saved with, or save "
                              "each account again with its password")
    return part
