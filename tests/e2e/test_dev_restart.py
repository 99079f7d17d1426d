"""A newcomer's make dev, stopped and started again on its kept database, as people do: the
admin token and the encryption key stay with the data, so an account saved with a password
before the restart still sends after it; a stack started with another key says so, naming
the variable, instead of stranding mail."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from devstack.procs import ROOT, free_port
from tests.support.api import ApiClient
from tests.support.dev_stack import start_dev, stop_dev
from tests.support.factories import account_payload, message_payload, tenant_payload
from tests.support.polling import eventually
from tests.support.smtp import SmtpSink


def test_a_restart_on_the_kept_database_still_sends_through_an_account_with_a_password(tmp_path: Path) -> None:
    sink = SmtpSink(credentials=("mailer", "pa55word")).start()
    try:
        first = start_dev(tmp_path, aws="moto", token=None, settings={"MAKE_DEV_QUIET": "1"})
        try:
            assert "kept in" in first.output() and "generated now" in first.output()
            assert "Messages as they are sent" not in first.output()
            api = ApiClient(first.api_url, first.token)
            tenant = tenant_payload()
            api.ok("POST", "/tenant", json=tenant)
            account = account_payload(tenant["id"], sink.port, user="mailer", password="pa55word")
            api.ok("POST", "/account", json=account)
        finally:
            stop_dev(first)

        again = start_dev(tmp_path, aws="moto", token=None)
        try:
            assert again.token == first.token and "generated earlier" in again.output()
            api = ApiClient(again.api_url, again.token)
            message = message_payload(tenant["id"], account["id"])
            api.ok("POST", "/commands/add-messages", json={"messages": [message]})
            eventually(lambda: sink.by_id(message["id"]), timeout=30, what="delivery after the restart")
            assert sink.logins == ["mailer"]
            assert api.ok("GET", "/status")["accounts"] == {"healthy": True}
        finally:
            stop_dev(again)
    finally:
        sink.stop()

    # Started with a key that is not the one its secrets were sealed with: it stops, saying so.
    env = {k: v for k, v in os.environ.items() if k not in {"AWS_ENDPOINT_URL", "DATABASE_URL"}}
    env.update(
        {
            "MAILPROXY_PG_DIR": str(tmp_path / "pg"),
            "MAILPROXY_ENCRYPTION_KEY": "some-other-key",
            "MAILPROXY_AWS": "moto",
            "MAILPROXY_PORT": str(free_port()),
            "MAILPROXY_AWS_PORT": str(free_port()),
            "MAILPROXY_PG_PORT": str(free_port()),
            "MAILDEV_SMTP_PORT": str(free_port()),
            "MAILDEV_WEB_PORT": str(free_port()),
            "MAILPROXY_SCHEDULE_TICK": "1",
        }
    )
    env.pop("MAILPROXY_API_TOKEN", None)
    refused = subprocess.run(
        [sys.executable, "-m", "devstack.dev"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "MAILPROXY_ENCRYPTION_KEY cannot read the secrets this database holds" in refused.stderr
