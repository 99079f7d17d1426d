"""Faults on the running stack: the function runner killed in the middle of a batch."""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.aws import MotoServer
from devstack.postgres import PostgresCluster
from devstack.procs import free_port
from devstack.stack import Stack, StackOptions
from tests.support.api import ApiClient
from tests.support.factories import account_payload, message_payload, tenant_payload
from tests.support.polling import eventually
from tests.support.smtp import Behaviour, SmtpSink


@pytest.fixture
def short_lease_stack(pg: PostgresCluster, moto_server: MotoServer, tmp_path: Path) -> Iterator[Stack]:
    """A stack of its own, so that killing its runner disturbs no other test."""
    options = StackOptions(
        api_port=free_port(),
        aws="external",
        aws_url=moto_server.url,
        database_url=pg.create_database(f"faults_{uuid.uuid4().hex[:8]}"),
        maildev=False,
        schedule_tick=1,
        queue_prefix=f"flt{os.getpid()}{uuid.uuid4().hex[:4]}",
        log_dir=tmp_path,
        settings={"MAILPROXY_SMTP_TIMEOUT": "4"},
        # Shorter than the template allows (a lease must outlive a dispatch run): only this
        # test's runner kill needs it, so it bypasses the parameters.
        extra_env={"MAILPROXY_CLAIM_LEASE": "8"},
    )
    stack = Stack(options).start()
    yield stack
    stack.stop()


def test_runner_killed_mid_batch_loses_no_message(short_lease_stack: Stack, sink: SmtpSink) -> None:
    api = ApiClient(short_lease_stack.api_url, short_lease_stack.token)
    tenant = tenant_payload()
    api.ok("POST", "/tenant", json=tenant)
    account = account_payload(tenant["id"], sink.port)
    api.ok("POST", "/account", json=account)
    sink.behaviour = Behaviour(hang_seconds=2)
    messages = [message_payload(tenant["id"], account["id"]) for _ in range(6)]
    api.ok("POST", "/commands/add-messages", json={"messages": messages})

    eventually(lambda: sink.data_started >= 1, what="a send in progress")
    assert short_lease_stack.runner is not None
    short_lease_stack.runner.kill()  # SIGKILL: no chance to record or release anything
    in_flight = sink.data_started
    sink.behaviour = Behaviour()
    short_lease_stack.start_runner()

    def all_sent() -> bool:
        return all(m["status"] == "sent" for m in api.messages(tenant["id"]))

    eventually(all_sent, timeout=40, what="every message sent after the lease expired")
    delivered = Counter(sink.ids())
    assert set(delivered) == {m["id"] for m in messages}, "no message lost"
    duplicates = sum(n - 1 for n in delivered.values())
    # The documented window: SMTP accepted what was in flight, the process died before
    # recording it. At most the messages in flight at the kill (one per connection).
    assert duplicates <= min(in_flight, 3)
