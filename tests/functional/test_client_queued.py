"""A client application that answers a delivery report with ``queued`` > 0 gets its new
messages dispatched and the next request at once (docs/api.md §5.10, "Answer")."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from chalicelib.domain.work_records import Reason
from chalicelib.services import tenants, work
from tests.support.echo import EchoServer
from tests.support.world import ADMIN, World

pytestmark = pytest.mark.functional


def _reports(echo: EchoServer) -> list[list[dict[str, Any]]]:
    return [json.loads(r["body"])["delivery_report"] for r in echo.requests if r["path"] == "/mail-proxy/sync"]


def test_a_client_that_queued_messages_has_them_sent_and_is_asked_again_at_once(world: World, echo: EchoServer) -> None:
    tenants.update(world.ports, ADMIN, world.tenant_id, {"client_base_url": echo.url})
    first, queued = world.message(), world.message()
    world.submit(first)

    def client(request: dict[str, Any]) -> None:
        if len(_reports(echo)) == 1:  # answering the first report, the client queues one more
            world.submit(queued)

    echo.on_post = client
    echo.answers = [{"queued": 1}]
    asyncio.run(work.process(world.ports, world.tenant_id, {Reason.SUBMIT}, 10.0))

    assert len(world.sink.by_id(queued["id"])) == 1, "dispatched within the same work record"
    sent = _reports(echo)
    assert [e["id"] for e in sent[0]] == [first["id"]]
    assert [e["id"] for e in sent[1] if "sent_ts" in e] == [queued["id"]], "the next request, at once"
    assert len(sent) == 2
