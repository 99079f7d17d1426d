"""Finding messages (extension 7.5) through the template's routes in-process, real PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from chalicelib import wiring
from chalicelib.services import control
from chalicelib.services.ports import Ports
from tests.support.routes import InProcessApi
from tests.support.world import ADMIN, World


@pytest.fixture
def api(ports: Ports) -> Iterator[InProcessApi]:
    with wiring.ports_in_use(ports):
        yield InProcessApi(ports.settings.api_token)


def _ids(answer: dict) -> list[str]:
    return [m["id"] for m in answer["messages"]]


def test_pages_follow_their_cursor_in_the_v1_order_and_end_with_null(world: World, api: InProcessApi) -> None:
    messages = [world.message(id=f"p-{i:02d}", priority=i % 3) for i in range(7)]
    world.submit(*messages)
    everything = _ids(api.ok("GET", "/messages", params={"tenant_id": world.tenant_id}))
    seen: list[str] = []
    params: dict = {"tenant_id": world.tenant_id, "limit": 3}
    while True:
        page = api.ok("GET", "/messages", params=params)
        seen += _ids(page)
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == everything and len(seen) == 7
    assert "next_cursor" not in api.ok("GET", "/messages", params={"tenant_id": world.tenant_id}), "v1 unchanged"


def test_filters_by_status_batch_account_time_and_q(world: World, api: InProcessApi) -> None:
    a = world.message(id="f-a", to=["Alice <Alice@Example.com>"], batch_code="spring")
    b = world.message(id="f-b", to=["bob@example.com"], deferred_ts=4_000_000_000)
    c = world.message(id="f-c", to=["carol@example.com"], batch_code="autumn")
    world.submit(a, b, c)
    control.suspend(world.ports, ADMIN, world.tenant_id, "autumn")

    def ids(**params: object) -> list[str]:
        return _ids(api.ok("GET", "/messages", params={"tenant_id": world.tenant_id, **params}))

    assert ids(q="alice@example.COM") == ["f-a"]
    assert ids(q="f-b") == ["f-b"]
    assert ids(status="deferred") == ["f-b"]
    assert ids(status="suspended") == ["f-c"]
    assert ids(status="pending") == ["f-a"]
    assert ids(batch_code="spring") == ["f-a"]
    assert ids(account_id=world.account_id, limit=10) == ["f-a", "f-b", "f-c"]
    assert ids(since=4_000_000_000) == [] and len(ids(until=4_000_000_000)) == 3
    bad = api.get("/messages", params={"tenant_id": world.tenant_id, "status": "lost"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "status"]
    assert api.get("/messages", params={"tenant_id": world.tenant_id, "cursor": "x"}).status_code == 422
    assert api.get("/messages", params={"tenant_id": world.tenant_id, "limit": 0}).status_code == 422


def test_one_message_with_its_history_and_404_for_an_unknown_or_foreign_one(
    world: World, api: InProcessApi, make_world: Callable[..., World], ports: Ports
) -> None:
    row = world.send_one(id="one-1")
    answer = api.ok("GET", "/messages/one-1", params={"tenant_id": world.tenant_id})
    assert answer["message"]["id"] == row["id"] and [e["event_type"] for e in answer["message"]["history"]] == ["sent"]
    missing = api.get("/messages/nope", params={"tenant_id": world.tenant_id})
    assert missing.status_code == 404 and missing.json() == {"detail": "Message not found"}
    other = make_world(ports)
    assert api.get("/messages/one-1", params={"tenant_id": other.tenant_id}).status_code == 404


def test_an_unpaged_list_is_cut_at_the_configured_maximum(
    make_world: Callable[..., World], make_ports: Callable[..., Ports]
) -> None:
    ports = make_ports(MAILPROXY_MAX_LIST="4")
    world = make_world(ports)
    world.submit(*[world.message(id=f"cap-{i}") for i in range(6)])
    with wiring.ports_in_use(ports):
        answer = InProcessApi(ports.settings.api_token).ok("GET", "/messages", params={"tenant_id": world.tenant_id})
    assert len(answer["messages"]) == 4 and answer["next_cursor"]
