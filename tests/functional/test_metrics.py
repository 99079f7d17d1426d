"""/metrics beyond the v1 counters: the add -> SMTP latency histogram, persisted per account
like the counters, and the build-info gauge; read through the scrape the API serves."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from chalicelib import VERSION
from chalicelib.services.observability import metrics_text
from chalicelib.services.ports import Ports
from tests.support.smtp import Behaviour
from tests.support.world import World


def _samples(ports: Ports, family: str, account_id: str | None = None) -> dict[str, Any]:
    for metric in text_string_to_metric_families(metrics_text(ports)):
        if metric.name == family:
            return {(s.name, s.labels.get("le")): s.value for s in metric.samples
                    if account_id is None or s.labels.get("account_id") == account_id}
    raise AssertionError(f"{family} not in /metrics")


def test_every_accepted_message_lands_in_the_latency_histogram(world: World, ports: Ports) -> None:
    for _ in range(3):
        assert world.send_one()["status"] == "sent"
    world.sink.behaviour = Behaviour(data_reply="554 5.7.1 Refused")
    assert world.send_one()["status"] == "error"

    seen = _samples(ports, "gmp_send_latency_seconds", world.account_id)
    assert seen[("gmp_send_latency_seconds_count", None)] == 3, "only acceptances are timed"
    assert seen[("gmp_send_latency_seconds_bucket", "+Inf")] == 3
    bounds = sorted((float(le), v) for (name, le), v in seen.items()
                    if name.endswith("_bucket") and le != "+Inf")
    counts = [v for _, v in bounds]
    assert counts == sorted(counts), "buckets are cumulative"
    assert 0 < seen[("gmp_send_latency_seconds_sum", None)] < 60
    assert dict(bounds)[60.0] == 3, "in-process, each reached SMTP within a minute of its submission"


def test_a_new_account_has_an_empty_histogram_and_the_build_is_named(world: World, ports: Ports) -> None:
    seen = _samples(ports, "gmp_send_latency_seconds", world.account_id)
    assert seen[("gmp_send_latency_seconds_count", None)] == 0
    info = [m for m in text_string_to_metric_families(metrics_text(ports)) if m.name == "gmp_build_info"]
    [sample] = info[0].samples
    assert sample.value == 1 and sample.labels["version"] == VERSION and sample.labels["api"] == "v1"
    assert "_created" not in metrics_text(ports)


def test_latency_counters_survive_a_fresh_scrape_and_add_up_per_account(make_world: Any, ports: Ports,
                                                                       world: World) -> None:
    other = make_world(ports)
    world.send_one()
    other.send_one()
    other.send_one()
    assert _samples(ports, "gmp_send_latency_seconds", world.account_id)[("gmp_send_latency_seconds_count", None)] == 1
    assert _samples(ports, "gmp_send_latency_seconds", other.account_id)[("gmp_send_latency_seconds_count", None)] == 2
