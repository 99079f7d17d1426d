"""One-click unsubscribe (extension 7.3): headers of the mail a real SMTP server receives,
and the provider's POST through the template's routes in-process."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest

from chalicelib import wiring
from chalicelib.services import tenants
from chalicelib.services.ports import Ports
from tests.support.routes import InProcessApi
from tests.support.world import ADMIN, World

PUBLIC = "https://mail-proxy.example.com/api"
ONE_CLICK = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def public_ports(make_ports: Callable[..., Ports]) -> Ports:
    return make_ports(MAILPROXY_PUBLIC_URL=PUBLIC)


@pytest.fixture
def listed(make_world: Callable[..., World], public_ports: Ports) -> World:
    world = make_world(public_ports)
    tenants.update(
        public_ports, ADMIN, world.tenant_id, {"unsubscribe": {"enabled": True, "mailto": "unsub@example.com"}}
    )
    return world


@pytest.fixture
def api(public_ports: Ports) -> Iterator[InProcessApi]:
    with wiring.ports_in_use(public_ports):
        yield InProcessApi(None)


def _link(world: World, msg_id: str) -> str:
    [received] = world.sink.by_id(msg_id)
    header = received.message["List-Unsubscribe"]
    found = re.search(r"<(https://[^>]+)>", header)
    assert found, header
    return found.group(1)


def test_a_sent_message_carries_the_one_click_headers(listed: World) -> None:
    row = listed.send_one()
    [received] = listed.sink.by_id(row["id"])
    assert received.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = _link(listed, row["id"])
    assert link.startswith(PUBLIC + "/unsubscribe/")
    token = link.rsplit("/", 1)[1]
    assert f"<mailto:unsub@example.com?subject=unsubscribe-{token}>" in received.message["List-Unsubscribe"]
    assert "rcpt@example.com" not in link


def test_the_messages_own_header_and_flag_win(listed: World) -> None:
    own = listed.send_one(headers={"List-Unsubscribe": "<mailto:own@example.com>"})
    assert listed.sink.by_id(own["id"])[0].message["List-Unsubscribe"] == "<mailto:own@example.com>"
    off = listed.send_one(unsubscribe=False)
    assert listed.sink.by_id(off["id"])[0].message["List-Unsubscribe"] is None


def test_the_providers_post_suppresses_the_to_addresses_once(listed: World, api: InProcessApi) -> None:
    row = listed.send_one(to=["Reader <reader@example.com>"], cc=["cc@example.com"])
    path = "/unsubscribe/" + _link(listed, row["id"]).rsplit("/", 1)[1]
    assert api.post(path, data="List-Unsubscribe=One-Click", headers=ONE_CLICK).status_code == 200
    assert api.post(path, data="List-Unsubscribe=One-Click", headers=ONE_CLICK).status_code == 200
    entries = listed.ports.suppressions.page(listed.tenant_id, None, 10, None)
    assert [(e["address"], e["reason"], e["message_id"]) for e in entries] == [
        ("reader@example.com", "unsubscribe", row["id"])
    ]
    assert [e["event_type"] for e in listed.events(row["id"])] == ["sent", "unsubscribed"]
    assert listed.row(row["id"])["unsubscribed_ts"] is not None


def test_a_forged_or_unknown_token_is_404_alike_and_get_changes_nothing(listed: World, api: InProcessApi) -> None:
    row = listed.send_one()
    token = _link(listed, row["id"]).rsplit("/", 1)[1]
    forged = api.post("/unsubscribe/" + token[:-2] + "AA", data="List-Unsubscribe=One-Click", headers=ONE_CLICK)
    unknown = api.post("/unsubscribe/nothing.here")
    assert forged.status_code == unknown.status_code == 404
    assert forged.json() == unknown.json()
    page = api.get("/unsubscribe/" + token)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert '<form method="post"' in page.text and 'name="List-Unsubscribe" value="One-Click"' in page.text
    assert listed.ports.suppressions.page(listed.tenant_id, None, 10, None) == []
    assert [e["event_type"] for e in listed.events(row["id"])] == ["sent"]
    assert api.get("/unsubscribe/nothing.here").status_code == 404


def test_the_unsubscribed_entry_is_reported_only_to_tenants_that_asked(listed: World, api: InProcessApi) -> None:
    def unsubscribe_one(reader: str) -> None:
        row = listed.send_one(to=[reader])
        api.post("/unsubscribe/" + _link(listed, row["id"]).rsplit("/", 1)[1])

    unsubscribe_one("first@example.com")
    kinds = [e["event_type"] for e in listed.ports.reports.unreported(listed.tenant_id, 100)]
    assert "unsubscribed" not in kinds, "a v1 client never sees an extension entry"
    tenants.update(listed.ports, ADMIN, listed.tenant_id, {"report_extensions": True})
    unsubscribe_one("second@example.com")
    kinds = [e["event_type"] for e in listed.ports.reports.unreported(listed.tenant_id, 100)]
    assert kinds.count("unsubscribed") == 1


def test_without_a_public_url_no_link_is_made(make_world: Callable[..., World], ports: Ports) -> None:
    world = make_world(ports)
    tenants.update(ports, ADMIN, world.tenant_id, {"unsubscribe": {"enabled": True}})
    row = world.send_one()
    assert world.sink.by_id(row["id"])[0].message["List-Unsubscribe"] is None


def test_an_invalid_mailto_is_422_naming_it(listed: World) -> None:
    # The route validates its declared schema (chalicelib/http_api.py), before the service.
    with wiring.ports_in_use(listed.ports):
        answer = InProcessApi(listed.ports.settings.api_token).put(
            f"/tenant/{listed.tenant_id}",
            json={"unsubscribe": {"enabled": True, "mailto": "x@y.com\r\nBcc: z@y.com"}},
        )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "unsubscribe", "mailto"]
