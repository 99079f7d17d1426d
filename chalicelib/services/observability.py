"""/metrics (contract 5.13) and /status."""

from __future__ import annotations

from typing import Any

from chalicelib.domain import metrics
from chalicelib.services.ports import Ports
from chalicelib.services.scheduler import SCHEDULER_BEAT

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LABELS = ["tenant_id", "tenant_name", "account_id", "account_name"]


class _DatabaseCollector:
    """Reads the persisted counters at scrape time, so every instance reports the same."""

    def __init__(self, rows: list[dict[str, Any]], pending: int) -> None:
        self._rows = rows
        self._pending = pending

    def collect(self) -> Any:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        families = {
            key: CounterMetricFamily(name, doc, labels=_LABELS)
            for key, (name, doc) in metrics.FAMILIES.items()
        }
        for row in self._rows:
            family = families.get(row["name"])
            if family is not None:
                family.add_metric(
                    [row["tenant_id"], row["tenant_name"], row["account_id"], row["account_id"]],
                    float(row["value"]),
                )
        yield from families.values()
        gauge = GaugeMetricFamily("gmp_pending_messages", "Unfinished messages")
        gauge.add_metric([], float(self._pending))
        yield gauge


def metrics_text(ports: Ports) -> str:
    # Imported here: only a scrape needs it, not every cold start of the API.
    from prometheus_client import CollectorRegistry, generate_latest

    rows, pending = ports.metrics.rows()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_DatabaseCollector(rows, pending))
    return generate_latest(registry).decode()


def status(ports: Ports) -> dict[str, Any]:
    """Health of every component the API can see; the scheduler by its last heartbeat."""
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
    return {
        "ok": True,
        "active": ports.settings.scheduler_enabled,
        "aws_endpoint_url": ports.settings.aws_endpoint_url or "aws",
        "components": {
            "database": {"healthy": database},
            "queues": {"healthy": queues},
            "scheduler": scheduler,
        },
    }
