"""The ``mailproxy`` console script, as ``make dev`` installs it, against the running stack:
an operator's session from tenant to timeline, --json for scripts, and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devstack.procs import free_port
from devstack.stack import Stack
from tests.support.api import ApiClient
from tests.support.polling import eventually
from tests.support.smtp import Behaviour, SmtpSink

MAILPROXY = Path(sys.executable).parent / "mailproxy"

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def mailproxy(stack: Stack) -> Run:
    assert MAILPROXY.exists(), "the console script is installed by `make deps` (pip install -e .)"

    def run(
        *args: str,
        token: str | None = stack.token,
        url: str | None = stack.api_url,
        stdin: str | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("MAILPROXY_")}
        environ["MAILPROXY_CONFIG"] = "/nonexistent/mailproxy.toml"
        if url:
            environ["MAILPROXY_URL"] = url
        if token:
            environ["MAILPROXY_TOKEN"] = token
        environ.update(env or {})
        return subprocess.run(
            [str(MAILPROXY), *args], capture_output=True, text=True, env=environ, input=stdin, timeout=120
        )

    return run


@pytest.fixture
def tenant_id(admin: ApiClient) -> Any:
    tid = f"cli-{uuid.uuid4().hex[:8]}"
    yield tid
    admin.delete(f"/tenant/{tid}")


def _json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_an_operator_creates_a_tenant_sends_and_reads_the_timeline(
    mailproxy: Run, tenant_id: str, sink: SmtpSink, admin: ApiClient
) -> None:
    created = mailproxy("tenants", "create", tenant_id, "--name", "CLI Co")
    assert created.returncode == 0 and "api_key" in created.stdout and "shown once" in created.stdout
    added = mailproxy("accounts", "add", tenant_id, "main", "--host", "127.0.0.1", "--port", str(sink.port), "--no-tls")
    assert added.returncode == 0, added.stderr
    spare = mailproxy(
        "accounts",
        "add",
        tenant_id,
        "spare",
        "--host",
        "127.0.0.1",
        "--port",
        "2525",
        "--user",
        "mailer",
        "--password-stdin",
        stdin="pa55word\n",
    )
    assert spare.returncode == 0, spare.stderr
    listed = mailproxy("accounts", "list", tenant_id)
    assert [line.split()[0] for line in listed.stdout.splitlines()[1:]] == ["main", "spare"]
    assert "mailer" in listed.stdout and "pa55word" not in listed.stdout

    sent = mailproxy(
        "send-test", tenant_id, "--account", "main", "--to", "Ops.Person@example.com", "--subject", "Hello from the CLI"
    )
    assert sent.returncode == 0, sent.stderr + sent.stdout
    assert sent.stdout.strip().endswith(": sent")
    message_id = sent.stdout.split(":")[0]
    assert [r.recipients for r in sink.received] == [["Ops.Person@example.com"]]

    found = mailproxy("messages", "search", tenant_id, "--to", "ops.person@EXAMPLE.com")
    assert found.returncode == 0 and message_id in found.stdout and "sent" in found.stdout
    assert found.stdout.splitlines()[0].split()[:3] == ["ID", "STATUS", "TO"]

    timeline = mailproxy("messages", "show", tenant_id, message_id)
    assert timeline.returncode == 0
    lines = timeline.stdout.splitlines()
    assert any(line.startswith("status") and line.split()[-1] == "sent" for line in lines)
    whats = [line.split()[2] for line in lines[lines.index("") + 2 :]]
    assert whats == ["accepted", "sent"]

    record = _json(mailproxy("messages", "show", tenant_id, message_id, "--json"))["message"]
    assert record["status"] == "sent" and [e["event_type"] for e in record["history"]] == ["sent"]
    log = admin.get("/command-log", params={"tenant_id": tenant_id}).json()["commands"]
    assert "pa55word" not in json.dumps(log), "the password never reaches the command log"

    assert _json(mailproxy("messages", "delete", tenant_id, message_id, "--json"))["removed"] == 1
    assert mailproxy("messages", "show", tenant_id, message_id).returncode == 3


def test_suppressions_suspension_and_keys_from_the_command_line(mailproxy: Run, tenant_id: str, stack: Stack) -> None:
    assert mailproxy("tenants", "create", tenant_id).returncode == 0
    assert mailproxy("suppressions", "add", tenant_id, "Gone@Example.com", "--detail", "asked").returncode == 0
    listed = _json(mailproxy("--json", "suppressions", "list", tenant_id))
    assert [(s["address"], s["reason"]) for s in listed["suppressions"]] == [("gone@example.com", "manual")]
    assert mailproxy("suppressions", "remove", tenant_id, "gone@example.com").returncode == 0
    assert mailproxy("suppressions", "remove", tenant_id, "gone@example.com").returncode == 3

    held = _json(mailproxy("suspend", tenant_id, "--batch", "spring", "--json"))
    assert held["suspended_batches"] == ["spring"]
    assert _json(mailproxy("activate", tenant_id, "--batch", "spring", "--json"))["suspended_batches"] == []

    key = _json(mailproxy("keys", "rotate", tenant_id, "--json"))["api_key"]
    as_tenant = mailproxy("tenants", "show", tenant_id, "--json", token=key)
    assert _json(as_tenant)["id"] == tenant_id
    assert mailproxy("tenants", "list", token=key).returncode == 4, "a tenant key is not the admin"
    assert mailproxy("keys", "revoke", tenant_id).returncode == 0
    assert mailproxy("tenants", "show", tenant_id, token=key).returncode == 4

    updated = mailproxy("tenants", "update", tenant_id, "--retention-days", "3", "--set", "suppression_enabled=false")
    assert updated.returncode == 0, updated.stderr
    shown = _json(mailproxy("tenants", "show", tenant_id, "--json"))
    assert (shown["retention_days"], shown["suppression_enabled"]) == (3, False)
    commands = _json(mailproxy("command-log", "--tenant", tenant_id, "--json"))["commands"]
    assert [c["endpoint"] for c in commands][:2] == ["addTenant", "addSuppressions"]


def test_exit_codes_tell_scripts_what_went_wrong(mailproxy: Run, tenant_id: str, tmp_path: Path, stack: Stack) -> None:
    assert mailproxy("health", url=stack.api_url, token=None).returncode == 0
    missing = mailproxy("tenants", "show", "no-such-tenant-anywhere")
    assert (missing.returncode, missing.stdout) == (3, "") and "404" in missing.stderr
    assert mailproxy("tenants", "list", token="wrong").returncode == 4
    assert mailproxy("tenants", "create", tenant_id).returncode == 0
    refused = mailproxy("accounts", "add", tenant_id, "a", "--host", "127.0.0.1", "--port", "70000")
    assert refused.returncode == 5 and "port" in refused.stderr
    down = mailproxy("health", url=f"http://127.0.0.1:{free_port()}")
    assert down.returncode == 6 and "cannot reach" in down.stderr
    assert mailproxy("health", url=None, token=None).returncode == 2
    assert mailproxy("messages", "search").returncode == 2, "click's usage error"

    config = tmp_path / "cli.toml"
    config.write_text(f'[local]\nurl = "{stack.api_url}"\ntoken = "{stack.token}"\n')
    by_file = mailproxy(
        "--profile",
        "local",
        "tenants",
        "show",
        tenant_id,
        "--json",
        url=None,
        token=None,
        env={"MAILPROXY_CONFIG": str(config)},
    )
    assert _json(by_file)["id"] == tenant_id


def test_instance_settings_from_the_command_line(mailproxy: Run) -> None:
    shown = _json(mailproxy("instance", "show", "--json"))
    assert shown["name"] == "mail-proxy" and "bounce_imap_password" not in shown
    assert mailproxy("instance", "set").returncode == 2
    interval = shown["bounce_poll_interval"]
    changed = mailproxy("instance", "set", "--set", f"bounce_poll_interval={interval + 7}")
    assert changed.returncode == 0, changed.stderr
    assert _json(mailproxy("instance", "show", "--json"))["bounce_poll_interval"] == interval + 7
    assert mailproxy("instance", "set", "--set", f"bounce_poll_interval={interval}").returncode == 0


def test_recipients_print_whole_and_an_error_shows_no_sent_time(
    mailproxy: Run, tenant_id: str, sink: SmtpSink, admin: ApiClient
) -> None:
    assert mailproxy("tenants", "create", tenant_id).returncode == 0
    assert (
        mailproxy(
            "accounts", "add", tenant_id, "main", "--host", "127.0.0.1", "--port", str(sink.port), "--no-tls"
        ).returncode
        == 0
    )
    sink.behaviour = Behaviour(data_reply="554 5.7.1 Rejected by policy")
    message = {
        "id": f"m-{uuid.uuid4().hex[:8]}",
        "tenant_id": tenant_id,
        "account_id": "main",
        "from": "shop@example.com",
        "to": "you@example.com",
        "subject": "Refused",
    }
    admin.ok("POST", "/commands/add-messages", json={"messages": [message]})
    eventually(lambda: (m := admin.message(tenant_id, message["id"])) and m["status"] == "error", what="error")
    found = mailproxy("messages", "search", tenant_id)
    row = next(line for line in found.stdout.splitlines() if line.startswith(message["id"]))
    assert "you@example.com" in row and "y, o, u" not in row
    assert row.split()[1] == "error" and row.split()[-2:] == ["-", "0"]  # no SENT_TS, no retries
    shown = mailproxy("messages", "show", tenant_id, message["id"])
    assert "to           you@example.com" in shown.stdout
    assert "5.7.1 Rejected by policy (SMTP 554)" in shown.stdout  # whole, not cut


def test_creating_an_existing_tenant_is_refused_unless_told_to_replace(mailproxy: Run, tenant_id: str) -> None:
    assert mailproxy("tenants", "create", tenant_id, "--name", "First").returncode == 0
    again = mailproxy("tenants", "create", tenant_id, "--name", "Second")
    assert again.returncode == 5 and "--replace" in again.stderr
    assert _json(mailproxy("tenants", "show", tenant_id, "--json"))["name"] == "First"
    replaced = mailproxy("tenants", "create", tenant_id, "--name", "Second", "--replace")
    assert replaced.returncode == 0 and "replaced" in replaced.stdout
    assert _json(mailproxy("tenants", "show", tenant_id, "--json"))["name"] == "Second"


def test_an_unreachable_api_is_one_line_that_says_what_to_check(mailproxy: Run) -> None:
    down = mailproxy("tenants", "list", url=f"http://127.0.0.1:{free_port()}")
    assert down.returncode == 6
    assert down.stderr.strip().count("\n") == 0, down.stderr
    assert "nothing answers there" in down.stderr and "MAILPROXY_URL" in down.stderr
    assert "urllib3" not in down.stderr and "Max retries" not in down.stderr


def test_status_is_a_table_with_the_settings_in_force(mailproxy: Run) -> None:
    shown = mailproxy("status")
    assert shown.returncode == 0
    lines = shown.stdout.splitlines()
    assert any(line.split()[:2] == ["database", "yes"] for line in lines)
    assert any(line.split() == ["MAILPROXY_RETRY_DELAYS", "1,2"] for line in lines)


def test_send_test_says_whether_the_tenant_or_the_account_is_missing(mailproxy: Run, tenant_id: str) -> None:
    nobody = mailproxy("send-test", f"no-{uuid.uuid4().hex[:6]}", "--account", "main", "--to", "a@example.com")
    assert nobody.returncode == 3 and "does not exist (mailproxy tenants list)" in nobody.stderr
    assert mailproxy("tenants", "create", tenant_id).returncode == 0
    no_account = mailproxy("send-test", tenant_id, "--account", "main", "--to", "a@example.com")
    assert (
        no_account.returncode == 3
        and f"has no account 'main' (mailproxy accounts list {tenant_id})" in no_account.stderr
    )
