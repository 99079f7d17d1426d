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
_LABELS = ["tenant_id", "tenant_name", "account_id", "account_name"]


class _DatabaseCollector:
    """Reads the persisted counters at scrape time, so every instance reports the same.

    ``account_name`` repeats ``account_id``: API v1 names both labels (accounts have no name of
    their own), and dashboards built for v1 select by either, so both stay."""

    def __init__(self, rows: list[dict[str, Any]], pending: int) -> None:
        self._rows = rows
        self._pending = pending

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
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_DatabaseCollector(rows, pending))
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
        answer["settings"] = effective(ports.settings)
    return answer
