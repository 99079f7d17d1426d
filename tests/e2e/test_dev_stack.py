"""Catalogue 00_core Docker/infrastructure rows, shown on make dev's own services, and the
message path HTTP API -> PostgreSQL -> SQS (LocalStack) -> dispatch -> SMTP (MailDev)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import psycopg
import pytest
import requests

from tests.support.api import ApiClient
from tests.support.dev_stack import Catcher, DevStack, ports_closed, start_dev, stop_dev
from tests.support.echo import EchoServer
from tests.support.factories import account_payload, message_payload, tenant_payload
from tests.support.polling import eventually


def _tenant(admin: ApiClient, catcher: Catcher) -> tuple[str, str]:
    tenant = tenant_payload()
    admin.ok("POST", "/tenant", json=tenant)
    account = account_payload(tenant["id"], catcher.smtp_port)
    admin.ok("POST", "/account", json=account)
    return tenant["id"], account["id"]


@pytest.fixture
def tenant1(admin: ApiClient, first_catcher: Catcher) -> Iterator[tuple[str, str]]:
    ids = _tenant(admin, first_catcher)
    yield ids
    admin.delete(f"/tenant/{ids[0]}")


@pytest.fixture
def tenant2(admin: ApiClient, second_catcher: Catcher) -> Iterator[tuple[str, str]]:
    ids = _tenant(admin, second_catcher)
    yield ids
    admin.delete(f"/tenant/{ids[0]}")


def send(admin: ApiClient, tenant: tuple[str, str], **over: object) -> dict:
    msg = message_payload(tenant[0], tenant[1], **over)
    assert admin.ok("POST", "/commands/add-messages", json={"messages": [msg]})["queued"] == 1
    return msg


def arrived(catcher: Catcher, msg: dict) -> dict:
    return eventually(lambda: catcher.api.by_mail_id(msg["id"]), timeout=10, what="arrival in MailDev")[0]


class TestDockerIntegration:
    def test_all_services_running_and_healthy(
        self, dev_stack: DevStack, admin: ApiClient, first_catcher: Catcher
    ) -> None:
        status = admin.ok("GET", "/status")
        assert status["aws_endpoint_url"] == dev_stack.aws_url
        assert eventually(
            lambda: all(c["healthy"] for c in admin.ok("GET", "/status")["components"].values()),
            what="every component healthy",
        )
        health = requests.get(f"{dev_stack.aws_url}/_localstack/health", timeout=5).json()
        assert health["services"]["sqs"] in {"available", "running"}
        assert first_catcher.api.healthy()
        with psycopg.connect(dev_stack.database_url) as conn:
            assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] >= 1

    def test_email_sent_via_api_arrives_at_tenant1_catcher(self, admin: ApiClient, tenant1, first_catcher) -> None:
        msg = send(admin, tenant1, subject="To tenant one")
        email = arrived(first_catcher, msg)
        assert email["subject"] == "To tenant one"

    def test_email_sent_via_api_arrives_at_tenant2_catcher(self, admin: ApiClient, tenant2, second_catcher) -> None:
        msg = send(admin, tenant2, subject="To tenant two")
        assert arrived(second_catcher, msg)["subject"] == "To tenant two"

    def test_tenant1_emails_do_not_appear_in_tenant2_catcher(
        self, admin: ApiClient, tenant1, tenant2, first_catcher, second_catcher
    ) -> None:
        one, two = send(admin, tenant1), send(admin, tenant2)
        arrived(first_catcher, one)
        arrived(second_catcher, two)
        assert second_catcher.api.by_mail_id(one["id"]) == []
        assert first_catcher.api.by_mail_id(two["id"]) == []

    def test_multiple_emails_to_same_tenant_all_arrive(self, admin: ApiClient, tenant1, first_catcher) -> None:
        messages = [message_payload(tenant1[0], tenant1[1], subject=f"Many {i}") for i in range(10)]
        admin.ok("POST", "/commands/add-messages", json={"messages": messages})
        for msg in messages:
            arrived(first_catcher, msg)

    def test_html_email_content_preserved_through_system(self, admin: ApiClient, tenant1, first_catcher) -> None:
        html = "<h1>Hello</h1><p>World &amp; <i>you</i></p>"
        msg = send(admin, tenant1, body=html, content_type="html")
        assert arrived(first_catcher, msg)["html"].strip() == html

    def test_custom_headers_preserved_in_sent_email(self, admin: ApiClient, tenant1, first_catcher) -> None:
        msg = send(admin, tenant1, headers={"X-Campaign": "e2e", "X-Priority-Hint": "3"})
        headers = arrived(first_catcher, msg)["headers"]
        assert headers["x-campaign"] == "e2e" and headers["x-priority-hint"] == "3"
        assert headers["x-genro-mail-id"] == msg["id"]


class TestInfrastructureCheck:
    def test_postgresql_database_is_accessible(self, dev_stack: DevStack) -> None:
        with psycopg.connect(dev_stack.database_url) as conn:
            tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert {"tenants", "accounts", "messages", "events", "api_keys"} <= tables

    def test_mail_catcher_tenant1_api_responds(self, first_catcher: Catcher) -> None:
        assert isinstance(first_catcher.api.emails(), list)

    def test_mail_catcher_tenant2_api_responds(self, second_catcher: Catcher) -> None:
        assert isinstance(second_catcher.api.emails(), list)

    def test_s3_api_responds(self, dev_stack: DevStack) -> None:
        s3 = boto3.client("s3", endpoint_url=dev_stack.aws_url, region_name="us-east-1")
        s3.create_bucket(Bucket="mailproxy-e2e-check")
        s3.put_object(Bucket="mailproxy-e2e-check", Key="probe.txt", Body=b"ok")
        assert s3.get_object(Bucket="mailproxy-e2e-check", Key="probe.txt")["Body"].read() == b"ok"

    def test_client_echo_servers_respond(self, echo: EchoServer) -> None:
        assert requests.get(echo.url, timeout=5).json() == {"status": "ok"}
        assert requests.post(echo.url + "/mail-proxy/sync", json={"delivery_report": []}, timeout=5).ok
        assert echo.requests[0]["path"] == "/mail-proxy/sync"


class TestTenantQueuesOnLocalStack:
    def test_a_tenant_is_pooled_and_a_dedicated_one_gets_queues_made_and_removed(
        self, dev_stack: DevStack, admin: ApiClient, first_catcher: Catcher
    ) -> None:
        import localstack_client.session

        session = localstack_client.session.Session(localstack_host=dev_stack.aws_url.removeprefix("http://"))
        sqs = session.client("sqs")
        tenant_id, _ = _tenant(admin, first_catcher)

        def own() -> list[str]:
            return [u for u in sqs.list_queues(QueueNamePrefix="mailproxy-t-").get("QueueUrls", []) if tenant_id in u]

        assert own() == [], "a pooled tenant has no queue of its own"
        assert sqs.list_queues(QueueNamePrefix="mailproxy-work").get("QueueUrls"), "the pool's queue"
        admin.ok("PUT", f"/tenant/{tenant_id}", json={"isolation": "dedicated"})
        urls = own()
        assert len(urls) == 2 and any(u.endswith("-dlq") for u in urls)
        attrs = sqs.get_queue_attributes(
            QueueUrl=next(u for u in urls if not u.endswith("-dlq")), AttributeNames=["RedrivePolicy"]
        )["Attributes"]
        assert "deadLetterTargetArn" in attrs["RedrivePolicy"]
        admin.ok("DELETE", f"/tenant/{tenant_id}")
        eventually(
            lambda: (
                not [u for u in sqs.list_queues(QueueNamePrefix="mailproxy-t-").get("QueueUrls", []) if tenant_id in u]
            ),
            what="queues removed",
        )


def test_make_dev_stops_everything_on_ctrl_c(tmp_path_factory: pytest.TempPathFactory) -> None:
    stack = start_dev(tmp_path_factory.mktemp("dev-moto"), aws="moto")
    assert requests.get(f"{stack.api_url}/health", timeout=5).json() == {"status": "ok"}
    assert "admin token" in stack.output()
    stop_dev(stack)
    assert stack.proc.returncode == 0
    eventually(lambda: ports_closed(stack.ports), what="every port of the stack closed")


def test_killing_make_dev_outright_stops_every_child(tmp_path_factory: pytest.TempPathFactory) -> None:
    stack = start_dev(tmp_path_factory.mktemp("dev-kill"), aws="moto")
    logs = re.search(r"logs in (\S+)", stack.output())
    assert logs and Path(logs.group(1)).is_dir() and "mailproxy-stack-" in logs.group(1), (
        "each stack has its own log directory, printed before it starts"
    )
    config = re.search(r"export MAILPROXY_CONFIG=(\S+);", stack.output())
    assert config, stack.output()
    cli = subprocess.run(
        [str(Path(sys.executable).parent / "mailproxy"), "--json", "tenants", "list"],
        env={**os.environ, "MAILPROXY_CONFIG": config.group(1)},
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 0 and json.loads(cli.stdout)["ok"] is True, cli.stderr
    stack.proc.kill()  # SIGKILL: make dev runs no cleanup of its own
    eventually(lambda: ports_closed(stack.ports), timeout=60, what="every port of the stack closed")


def test_killing_the_parent_of_make_dev_stops_it_cleanly(tmp_path_factory: pytest.TempPathFactory) -> None:
    stack = start_dev(tmp_path_factory.mktemp("dev-parent"), aws="moto", under_shell=True)
    stack.proc.kill()  # the shell (make, for a user) dies; make dev hears SIGTERM and stops
    eventually(lambda: "stopping" in stack.output(), timeout=30, what="make dev stopping")
    eventually(lambda: ports_closed(stack.ports), timeout=60, what="every port of the stack closed")


def _walk_through(dev_stack: DevStack, first_catcher: Catcher, api_port: str) -> subprocess.CompletedProcess[str]:
    """The README's walk-through run by bash, with only the variables a person running make dev
    on other ports exports: the token and the ports (not one URL or literal replaced)."""
    from devstack.procs import ROOT

    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Walk-through", 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MAILPROXY_", "MAILDEV_"))},
        "TOKEN": dev_stack.token,
        "MAILPROXY_PORT": api_port,
        "MAILDEV_WEB_PORT": dev_stack.maildev_url.rsplit(":", 1)[1],
        "MAILDEV_SMTP_PORT": str(first_catcher.smtp_port),
        "TENANT": "acme-readme",
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    return subprocess.run(
        ["bash", "-e", "-c", match.group(1)], capture_output=True, text=True, timeout=60, env=env, cwd=ROOT
    )


def test_readme_walk_through_works_from_a_shell_on_other_ports(dev_stack: DevStack, first_catcher: Catcher) -> None:
    assert dev_stack.api_url != "http://127.0.0.1:8000", "the e2e stack runs on other ports than the defaults"
    result = _walk_through(dev_stack, first_catcher, dev_stack.api_url.rsplit(":", 1)[1])
    assert result.returncode == 0, result.stderr
    assert '"queued": 1' in result.stdout
    lines = result.stdout.splitlines()
    assert any(line.startswith("hello-1 ") for line in lines), "the CLI found it by recipient"
    assert any(" accepted " in line for line in lines), "the CLI printed its timeline"
    arrived(first_catcher, {"id": "hello-1"})
    api = ApiClient(dev_stack.api_url, dev_stack.token)
    eventually(lambda: (api.message("acme-readme", "hello-1") or {}).get("status") == "sent", what="sent")
    api.delete("/tenant/acme-readme")


def test_readme_walk_through_fails_loudly_when_nothing_answers(dev_stack: DevStack, first_catcher: Catcher) -> None:
    from devstack.procs import free_port

    result = _walk_through(dev_stack, first_catcher, str(free_port()))
    assert result.returncode != 0, result.stdout
    assert "failed: curl" in result.stderr and "/status" in result.stderr
    assert '"ok"' not in result.stdout


def test_make_monitor_prints_every_dashboard_query_answered_by_the_stack(
    dev_stack: DevStack, admin: ApiClient, tenant1: tuple[str, str], first_catcher: Catcher
) -> None:
    from devstack.procs import ROOT, free_port, port_open
    from devstack.prometheus import dashboard_queries

    tenant_id, account_id = tenant1
    msg = message_payload(tenant_id, account_id)
    admin.ok("POST", "/commands/add-messages", json={"messages": [msg]})
    arrived(first_catcher, msg)
    port = free_port()
    monitor = subprocess.Popen(
        [sys.executable, "-m", "devstack.prometheus", "--api", dev_stack.api_url, "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert monitor.stdout is not None
        lines: list[str] = []
        for line in monitor.stdout:
            lines.append(line.rstrip())
            if line.startswith("Browse "):
                break
    finally:
        monitor.terminate()
        monitor.wait(timeout=30)
    assert not port_open(port), "SIGTERM stops the Prometheus server it started"
    shown = {line.strip().split("  ")[0]: line for line in lines if line.startswith("  ")}
    assert set(shown) == {title for title, _ in dashboard_queries()}, "\n".join(lines)
    assert f"tenant_id={tenant_id}" in shown["Sent per second, by tenant"]
    assert "version=" in shown["Build"] and "(no data yet)" not in shown["Pending messages"]
