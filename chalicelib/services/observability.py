"""/metrics (docs/api.md §5.13) and /status."""

from __future__ import annotations

import platform
from collections.abc import Mapping
from typing import Any

from chalicelib import VERSION, limits
from chalicelib.config import effective
from chalicelib.domain import metrics
from chalicelib.errors import BusinessRuleError, RequestValidationError
from chalicelib.services.auth import Principal
from chalicelib.services.ports import Ports
from chalicelib.services.scheduler import SCHEDULER_BEAT

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNREADABLE_LISTED = 100  # flagged accounts named by /status and /metrics at most
_LABELS = ["tenant_id", "tenant_name", "account_id", "account_name"]


class _DatabaseCollector:
    """Reads the persisted counters at scrape time, so every instance reports the same.

    ``account_name`` repeats ``account_id``: API v1 names both labels (accounts have no name of
    their own), and dashboards built for v1 select by either, so both stay. The latency
    histogram is per tenant: 16 series per account would be most of the answer (docs/operations.md,
    "Metrics and alerts", for the cardinality)."""

    def __init__(
        self,
        counters: list[dict[str, Any]],
        latency: list[dict[str, Any]],
        pending: int | None,
        unreadable: list[dict[str, Any]],
    ) -> None:
        self._counters = counters
        self._latency = latency
        self._pending = pending
        self._unreadable = unreadable

    def collect(self) -> Any:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        families = {
            key: CounterMetricFamily(name, doc, labels=_LABELS) for key, (name, doc) in metrics.FAMILIES.items()
        }
        for row in self._counters:
            family = families.get(row["name"])
            if family is not None:
                family.add_metric(
                    [row["tenant_id"], row["tenant_name"], row["account_id"], row["account_id"]], float(row["value"])
                )
        yield from families.values()
        latency: dict[tuple[str, str], dict[str, int]] = {}
        for row in self._latency:
            latency.setdefault((row["tenant_id"], row["tenant_name"]), {})[row["name"]] = int(row["value"])
        histogram = HistogramMetricFamily(*metrics.LATENCY_FAMILY, labels=["tenant_id", "tenant_name"])
        for labels, stored in latency.items():
            buckets, total = metrics.latency_series(stored)
            histogram.add_metric(list(labels), buckets, total)
        yield histogram
        flagged = GaugeMetricFamily(
            "gmp_account_secret_unreadable",
            "1 for an account whose stored password this deployment's key cannot "
            "decrypt (its messages end in error until it is saved again)",
            labels=["tenant_id", "account_id"],
        )
        for row in self._unreadable:
            flagged.add_metric([row["tenant_id"], row["account_id"]], 1.0)
        yield flagged
        if self._pending is not None:
            gauge = GaugeMetricFamily("gmp_pending_messages", "Unfinished messages")
            gauge.add_metric([], float(self._pending))
            yield gauge
        info = GaugeMetricFamily("gmp_build_info", "The running build (always 1)", labels=["version", "api", "python"])
        info.add_metric([VERSION, "v1", platform.python_version()], 1.0)
        yield info


def answer_bytes(size: dict[str, Any]) -> int:
    """What a scrape's answer will weigh, from the shard's counts and label lengths: each
    counter line is its labels plus ~75 bytes of names and value, four per account; each
    histogram line its tenant's labels plus ~80, 17 per tenant."""
    counters = 4 * (75 * int(size["accounts"]) + int(size["account_labels"]) + 40 * int(size["accounts"]))
    histogram = 17 * (80 * int(size["tenants"]) + int(size["tenant_labels"]))
    return counters + histogram + 4096


def shard_of(query: Mapping[str, str]) -> tuple[int, int]:
    """``shards`` (1 to METRICS_MAX_SHARDS, default 1) and ``shard`` (0 to shards - 1, default 0)."""

    def number(name: str, default: int, low: int, high: int) -> int:
        raw = query.get(name)
        if raw is None:
            return default
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise RequestValidationError(
                [
                    {
                        "loc": ["query", name],
                        "type": "value_error",
                        "msg": f"{name} must be an integer from {low} to {high}",
                    }
                ]
            )
        return int(raw)

    shards = number("shards", 1, 1, limits.METRICS_MAX_SHARDS)
    return number("shard", 0, 0, shards - 1), shards


def metrics_text(ports: Ports, shard: int = 0, shards: int = 1) -> str:
    """The exposition for one shard of the tenants (all of them by default). Refused, naming
    the shard count that fits, when it would not fit in one Lambda answer."""
    weight = answer_bytes(ports.metrics.size(shard, shards))
    if weight > limits.METRICS_ANSWER_BYTES:
        need = shards * -(-weight // limits.METRICS_ANSWER_BYTES)
        raise BusinessRuleError(
            f"/metrics would be about {weight // 1_000_000} MB, over what one answer may carry: scrape it "
            f"in {need} parts, /metrics?shards={need}&shard=0 to {need - 1}, one scrape job each "
            "(docs/operations.md, Metrics and alerts)"
        )
    # Imported here: only a scrape needs it, not every cold start of the API.
    from prometheus_client import CollectorRegistry, generate_latest

    counters, latency, pending = ports.metrics.rows(shard, shards)
    unreadable = ports.accounts.unreadable(UNREADABLE_LISTED)[0] if shard == 0 else []
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_DatabaseCollector(counters, latency, pending, unreadable))
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
        part["what_to_do"] = (
            "set MAILPROXY_ENCRYPTION_KEY back to the key they were saved with, or save "
            "each account again with its password"
        )
    return part
