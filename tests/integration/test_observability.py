"""Observability of the running stack: JSON log lines with the request's and message's keys,
the latency histogram and build info on /metrics, and the repository's Grafana dashboard and
Prometheus alert rules answered by a real Prometheus scraping this stack."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.prometheus import RULES, Prometheus, binary, dashboard_queries
from devstack.stack import Stack
from tests.support.api import ApiClient
from tests.support.polling import eventually
from tests.support.smtp import Behaviour, SmtpSink
from tests.support.tenants import TenantHandle


def _log_lines(stack: Stack) -> list[dict[str, Any]]:
    lines = []
    for path in Path(stack.o.log_dir).rglob("*.log"):
        for text in path.read_text(errors="replace").splitlines():
            if text.startswith("{"):
                try:
                    lines.append(json.loads(text))
                except ValueError:
                    continue
    return lines


def _find(stack: Stack, **want: Any) -> list[dict[str, Any]]:
    return [line for line in _log_lines(stack) if all(line.get(k) == v for k, v in want.items())]


def test_the_api_writes_one_json_access_line_per_request(stack: Stack, tenant: TenantHandle, admin: ApiClient) -> None:
    tenant_key = ApiClient(stack.api_url, tenant.api_key)
    assert tenant_key.get("/accounts", params={"tenant_id": tenant.id}).status_code == 200
    [line] = eventually(
        lambda: _find(stack, message="request", route="/accounts", tenant_id=tenant.id), what="the access line"
    )
    assert line["service"] == "mail-proxy-api" and line["status"] == 200 and line["method"] == "GET"
    assert line["request_id"] and line["level"] == "INFO" and isinstance(line["duration_ms"], float)
    assert tenant.api_key not in json.dumps(_log_lines(stack)), "a key is never logged"


def test_a_failed_attempt_is_logged_with_its_tenant_and_message(
    stack: Stack, tenant: TenantHandle, admin: ApiClient, sink: SmtpSink
) -> None:
    sink.behaviour = Behaviour(data_reply="451 4.3.0 Try later")
    message = tenant.message()
    admin.ok("POST", "/commands/add-messages", json={"messages": [message]})
    [line, *_] = eventually(
        lambda: _find(stack, message="delivery attempt failed", message_id=message["id"]),
        timeout=30,
        what="the dispatcher's line",
    )
    assert line["service"] == "mail-proxy-dispatch" and line["tenant_id"] == tenant.id
    assert line["temporary"] is True and line["smtp_code"] == 451 and line["function_request_id"]


@pytest.fixture
def prometheus(stack: Stack, tmp_path: Path) -> Iterator[Prometheus]:
    server = Prometheus(stack.api_url.removeprefix("http://"), tmp_path).start()
    yield server
    server.stop()


def test_the_dashboard_and_alert_rules_are_answered_by_prometheus_scraping_the_stack(
    stack: Stack, tenant: TenantHandle, admin: ApiClient, sink: SmtpSink, prometheus: Prometheus
) -> None:
    eventually(lambda: prometheus.query('up{job="mail-proxy"} == 1'), timeout=30, what="a first scrape")
    messages = [tenant.message() for _ in range(5)]
    admin.ok("POST", "/commands/add-messages", json={"messages": messages})
    eventually(lambda: len(sink.received) == 5, timeout=30, what="five messages delivered")
    sent = f'gmp_sent_total{{tenant_id="{tenant.id}"}}'
    eventually(
        lambda: [r for r in prometheus.query(sent) if r["value"][1] == "5"], timeout=30, what="the sent counter scraped"
    )
    count = f'gmp_send_latency_seconds_count{{tenant_id="{tenant.id}"}}'
    assert prometheus.query(count)[0]["value"][1] == "5"
    assert prometheus.query('gmp_build_info{api="v1"}')[0]["metric"]["version"]

    for title, concrete in dashboard_queries(tenant=tenant.id):
        result = prometheus.query(concrete)
        if any(word in concrete for word in ("errors", "deferred", "rate_limited", "histogram_quantile")):
            continue  # answered (status success) though this tenant had no failures
        assert result, f"panel {title!r} has no data: {concrete}"

    groups = eventually(
        lambda: [
            g
            for g in prometheus.get("/rules")["groups"]
            if all(r.get("lastEvaluation", "").startswith("2") and r["health"] == "ok" for r in g["rules"])
        ],
        timeout=30,
        what="the rules evaluated",
    )
    assert {r["name"] for r in groups[0]["rules"]} >= {"MailProxyMetricsDown", "MailProxyAccountFailing"}


def test_promtool_checks_and_unit_tests_the_alert_rules() -> None:
    checked = subprocess.run([binary("promtool"), "check", "rules", str(RULES)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run(
        [binary("promtool"), "test", "rules", "alerts.test.yml"], cwd=RULES.parent, capture_output=True, text=True
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
