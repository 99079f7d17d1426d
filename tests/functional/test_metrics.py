"""/metrics beyond the v1 counters: the add -> SMTP latency histogram, persisted per account like
the counters and scraped per tenant, the build-info gauge, and the shards a large deployment
scrapes in; read through the scrape the API serves."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from chalicelib import VERSION
from chalicelib.services.observability import metrics_text
from chalicelib.services.ports import Ports
from tests.support.smtp import Behaviour
from tests.support.world import World


def _samples(ports: Ports, family: str, tenant_id: str | None = None) -> dict[str, Any]:
    for metric in text_string_to_metric_families(metrics_text(ports)):
        if metric.name == family:
            return {
                (s.name, s.labels.get("le")): s.value
                for s in metric.samples
                if tenant_id is None or s.labels.get("tenant_id") == tenant_id
            }
    raise AssertionError(f"{family} not in /metrics")


def test_every_accepted_message_lands_in_the_latency_histogram(world: World, ports: Ports) -> None:
    for _ in range(3):
        assert world.send_one()["status"] == "sent"
    world.sink.behaviour = Behaviour(data_reply="554 5.7.1 Refused")
    assert world.send_one()["status"] == "error"

    seen = _samples(ports, "gmp_send_latency_seconds", world.tenant_id)
    assert seen[("gmp_send_latency_seconds_count", None)] == 3, "only acceptances are timed"
    assert seen[("gmp_send_latency_seconds_bucket", "+Inf")] == 3
    bounds = sorted((float(le), v) for (name, le), v in seen.items() if name.endswith("_bucket") and le != "+Inf")
    counts = [v for _, v in bounds]
    assert counts == sorted(counts), "buckets are cumulative"
    assert 0 < seen[("gmp_send_latency_seconds_sum", None)] < 60
    assert dict(bounds)[60.0] == 3, "in-process, each reached SMTP within a minute of its submission"


def test_a_tenant_with_a_new_account_has_an_empty_histogram_and_the_build_is_named(world: World, ports: Ports) -> None:
    seen = _samples(ports, "gmp_send_latency_seconds", world.tenant_id)
    assert seen[("gmp_send_latency_seconds_count", None)] == 0
    info = [m for m in text_string_to_metric_families(metrics_text(ports)) if m.name == "gmp_build_info"]
    [sample] = info[0].samples
    assert sample.value == 1 and sample.labels["version"] == VERSION and sample.labels["api"] == "v1"
    assert "_created" not in metrics_text(ports)


def test_latency_counters_survive_a_fresh_scrape_and_add_up_per_tenant(
    make_world: Any, ports: Ports, world: World
) -> None:
    other = make_world(ports)
    world.send_one()
    other.send_one()
    other.send_one()
    assert _samples(ports, "gmp_send_latency_seconds", world.tenant_id)[("gmp_send_latency_seconds_count", None)] == 1
    assert _samples(ports, "gmp_send_latency_seconds", other.tenant_id)[("gmp_send_latency_seconds_count", None)] == 2


def test_the_shards_split_the_tenants_between_them_and_together_answer_all(
    make_world: Any, ports: Ports, world: World
) -> None:
    others = [make_world(ports) for _ in range(5)]
    ours = {w.tenant_id for w in (world, *others)}
    seen: list[set[str]] = []
    for shard in range(3):
        families = {m.name: m for m in text_string_to_metric_families(metrics_text(ports, shard, 3))}
        seen.append({s.labels["tenant_id"] for s in families["gmp_sent"].samples} & ours)
        assert ("gmp_pending_messages" in families) == (shard == 0), "the unsharded gauge once"
    assert set().union(*seen) == ours
    assert sum(len(s) for s in seen) == len(ours), "each tenant in exactly one shard"


def test_an_answer_too_large_for_lambda_is_refused_naming_the_shards_that_fit(
    ports: Ports, world: World, monkeypatch: Any
) -> None:
    from chalicelib import limits
    from chalicelib.errors import BusinessRuleError

    monkeypatch.setattr(limits, "METRICS_ANSWER_BYTES", 3000)
    try:
        metrics_text(ports)
    except BusinessRuleError as exc:
        assert "shards=" in str(exc) and "shard=0" in str(exc)
    else:
        raise AssertionError("an oversized answer was built")


def test_the_estimate_is_at_least_what_the_answer_weighs(make_world: Any, ports: Ports, world: World) -> None:
    from chalicelib.services.observability import answer_bytes

    for _ in range(3):
        make_world(ports)
    assert answer_bytes(ports.metrics.size(0, 1)) >= len(metrics_text(ports).encode())
