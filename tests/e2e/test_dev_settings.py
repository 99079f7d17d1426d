"""make dev started with an operator's settings applies each of them in the functions it
hosts, through the template's parameters as AWS would (docs/operations.md, "Configuration")."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.procs import ROOT
from tests.support.api import ApiClient
from tests.support.dev_stack import DevStack, start_dev, stop_dev
from tests.support.echo import EchoServer
from tests.support.factories import account_payload, message_payload, tenant_payload
from tests.support.polling import eventually
from tests.support.smtp import Behaviour, SmtpSink

SETTINGS = {
    "MAILPROXY_RETRY_DELAYS": "2,2,2,2,2",
    "MAILPROXY_MAX_RETRIES": "3",
    "MAILPROXY_REPORT_INTERVAL": "5",
    "MAILPROXY_ATTACHMENT_TIMEOUT": "3",
    "MAILPROXY_MAX_LIST": "40",
}


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    stack = start_dev(tmp_path_factory.mktemp("tuned"), aws="moto", settings=SETTINGS)
    yield stack
    stop_dev(stack)


@pytest.fixture
def api(tuned: DevStack) -> ApiClient:
    return ApiClient(tuned.api_url, tuned.token)


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    yield server
    server.stop()


def tenant_on(api: ApiClient, sink: SmtpSink, **tenant: object) -> tuple[str, str]:
    payload = tenant_payload(**tenant)
    api.ok("POST", "/tenant", json=payload)
    account = account_payload(payload["id"], sink.port)
    api.ok("POST", "/account", json=account)
    return payload["id"], account["id"]


def add(api: ApiClient, *messages: dict) -> None:
    assert api.ok("POST", "/commands/add-messages", json={"messages": list(messages)})["queued"] == len(messages)


def test_make_dev_says_which_settings_it_applied_and_status_shows_them(tuned: DevStack, api: ApiClient) -> None:
    out = tuned.output()
    assert "settings applied to every function:" in out
    for line in (
        "MAILPROXY_MAX_LIST=40 (default 10000)",
        "MAILPROXY_RETRY_DELAYS=2,2,2,2,2 (default 60,300",
        "MAILPROXY_MAX_RETRIES=3 (default 5)",
        "MAILPROXY_REPORT_INTERVAL=5 (default 300)",
        "MAILPROXY_ATTACHMENT_TIMEOUT=3 (default 30)",
    ):
        assert line in out
    shown = api.ok("GET", "/status")["settings"]
    assert {k: shown[k] for k in SETTINGS} == SETTINGS
    # The deployed functions' environments hold them, from the template's parameters.
    deployment = json.loads(
        next(Path(line.split("logs in ", 1)[1].strip()) for line in out.splitlines() if "logs in " in line)
        .joinpath("deployment.json")
        .read_text()
    )
    for fn in deployment["functions"].values():
        assert fn["environment"]["MAILPROXY_MAX_RETRIES"] == "3"


def test_a_451_is_retried_after_two_seconds(api: ApiClient, sink: SmtpSink) -> None:
    tenant, account = tenant_on(api, sink)
    sink.behaviour = Behaviour(data_reply="451 4.3.0 Try again later", fail_first=1)
    msg = message_payload(tenant, account)
    add(api, msg)
    eventually(lambda: sink.attempts >= 1, timeout=20, what="first attempt")
    first = time.monotonic()
    eventually(lambda: sink.by_id(msg["id"]), timeout=20, what="accepted on retry")
    waited = time.monotonic() - first
    # 2 s in whole seconds (deferred_ts = now + 2, now an integer: 1 to 2 s after the attempt),
    # plus at most a scheduler tick (1 s) and a dispatch run; the default would be 60 s.
    assert 0.9 <= waited <= 12, waited


def test_make_dev_prints_a_line_per_outcome(tuned: DevStack, api: ApiClient, sink: SmtpSink) -> None:
    tenant, account = tenant_on(api, sink)
    sink.behaviour = Behaviour(data_reply="451 4.3.0 Try again later", fail_first=1)
    msg = message_payload(tenant, account)
    add(api, msg)
    eventually(lambda: f"  {tenant}  {msg['id']}  sent" in tuned.output(), timeout=20, what="the sent line")
    assert f"  {tenant}  {msg['id']}  deferred, will retry: 4.3.0 Try again later (SMTP 451)" in tuned.output()


def test_a_message_is_given_up_after_three_retries(api: ApiClient, sink: SmtpSink) -> None:
    tenant, account = tenant_on(api, sink)
    sink.behaviour = Behaviour(data_reply="451 4.3.0 Try again later")
    msg = message_payload(tenant, account)
    add(api, msg)
    record = eventually(
        lambda: (m := api.message(tenant, msg["id"])) and m["status"] == "error" and m,
        timeout=40,
        what="error after the retries",
    )
    assert sink.attempts == 4  # the first try and MAILPROXY_MAX_RETRIES=3 retries
    assert record["retry_count"] == 3 and "451" in str(record["error"])


def test_empty_reports_are_synced_every_five_seconds(api: ApiClient, sink: SmtpSink) -> None:
    echo = EchoServer().start()
    try:
        tenant_on(api, sink, client_base_url=echo.url + "/")
        eventually(
            lambda: len([r for r in echo.requests if r["path"] == "/mail-proxy/sync"]) >= 3,
            timeout=40,
            what="three empty syncs",
        )
        times = [r["at"] for r in echo.requests if r["path"] == "/mail-proxy/sync"]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert all(3.5 <= gap <= 10 for gap in gaps[1:]), gaps  # the default would be 300 s
    finally:
        echo.stop()


def test_a_hanging_attachment_server_is_given_up_after_three_seconds(api: ApiClient, sink: SmtpSink) -> None:
    echo = EchoServer().start()
    echo.delay = 25
    echo.files["/slow.bin"] = b"late"
    try:
        tenant, account = tenant_on(api, sink)
        msg = message_payload(
            tenant, account, attachments=[{"filename": "slow.bin", "storage_path": f"{echo.url}/slow.bin"}]
        )
        started = time.monotonic()
        add(api, msg)
        record = eventually(
            lambda: (m := api.message(tenant, msg["id"])) and m["status"] == "error" and m,
            timeout=20,
            what="attachment given up",
        )
        assert time.monotonic() - started < 15  # 3 s, not the default 30
        assert record["error"] == "Attachment fetch failed for slow.bin: timed out"
    finally:
        echo.stop()


def test_an_unpaged_listing_is_cut_at_forty(api: ApiClient, sink: SmtpSink) -> None:
    tenant, account = tenant_on(api, sink)
    api.ok("POST", "/commands/suspend", params={"tenant_id": tenant})
    add(api, *(message_payload(tenant, account) for _ in range(45)))
    answer = api.ok("GET", "/messages", params={"tenant_id": tenant})
    assert len(answer["messages"]) == 40 and answer["next_cursor"]


def test_an_unknown_setting_stops_make_dev_with_its_name(tmp_path: Path) -> None:
    env = {**os.environ, "MAILPROXY_MAX_RETRY": "3", "MAILPROXY_PG_DIR": str(tmp_path / "pg")}
    done = subprocess.run(
        [sys.executable, "-m", "devstack.dev"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "MAILPROXY_MAX_RETRY is not a Mail Proxy setting (did you mean MAILPROXY_MAX_RETRIES?)" in done.stderr
