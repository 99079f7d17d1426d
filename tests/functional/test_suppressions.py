"""The suppression list (docs/api.md §7.1): its routes in-process over real
PostgreSQL, and what dispatch does with it against a real SMTP server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import quote

import pytest

from chalicelib import wiring
from chalicelib.services.ports import Ports
from tests.support.factories import account_payload, tenant_payload
from tests.support.routes import InProcessApi
from tests.support.smtp import Behaviour
from tests.support.world import World

GOOD, GONE = "good@example.com", "gone@example.com"


@pytest.fixture
def api(ports: Ports) -> Iterator[InProcessApi]:
    with wiring.ports_in_use(ports):
        yield InProcessApi(ports.settings.api_token)


@pytest.fixture
def make_tenant(api: InProcessApi) -> Iterator[Callable[..., tuple[str, InProcessApi]]]:
    made: list[str] = []

    def factory(**fields: object) -> tuple[str, InProcessApi]:
        payload = tenant_payload(**fields)
        key = api.ok("POST", "/tenant", json=payload)["api_key"]
        made.append(payload["id"])
        return payload["id"], api.as_token(key)

    yield factory
    for tenant_id in made:
        api.delete(f"/tenant/{tenant_id}")


def _suppress(client: InProcessApi, tenant_id: str, *addresses: str) -> int:
    return int(client.ok("POST", "/suppressions", json={"tenant_id": tenant_id, "addresses": list(addresses)})["added"])


def _listed(client: InProcessApi, tenant_id: str, **params: object) -> dict:
    return client.ok("GET", "/suppressions", params={"tenant_id": tenant_id, **params})


def test_added_addresses_are_listed_newest_first_in_lower_case_and_counted_once(make_tenant: Callable) -> None:
    tenant_id, own = make_tenant()
    assert _suppress(own, tenant_id, "First@Example.com", "Second <second@example.com>") == 2
    assert _suppress(own, tenant_id, "FIRST@example.com", "third@example.com") == 1, "already there: not counted"
    page = _listed(own, tenant_id)
    assert [s["address"] for s in page["suppressions"]] == [
        "third@example.com",
        "second@example.com",
        "first@example.com",
    ]
    assert {s["reason"] for s in page["suppressions"]} == {"manual"}
    assert page["next_cursor"] is None
    entry = page["suppressions"][0]
    assert set(entry) == {"address", "reason", "created_ts", "message_id", "detail"}


def test_a_page_continues_from_its_cursor_and_reason_filters(make_tenant: Callable) -> None:
    tenant_id, own = make_tenant()
    for i in range(5):
        _suppress(own, tenant_id, f"a{i}@example.com")
    first = _listed(own, tenant_id, limit=2)
    second = _listed(own, tenant_id, limit=2, cursor=first["next_cursor"])
    third = _listed(own, tenant_id, limit=2, cursor=second["next_cursor"])
    seen = [s["address"] for p in (first, second, third) for s in p["suppressions"]]
    assert seen == [f"a{i}@example.com" for i in reversed(range(5))]
    assert third["next_cursor"] is None
    assert _listed(own, tenant_id, reason="hard_bounce")["suppressions"] == []
    assert own.get("/suppressions", params={"tenant_id": tenant_id, "reason": "nope"}).status_code == 422
    assert own.get("/suppressions", params={"tenant_id": tenant_id, "cursor": "forged!"}).status_code == 422
    assert own.get("/suppressions", params={"tenant_id": tenant_id, "limit": 0}).status_code == 422


def test_an_invalid_address_is_422_naming_it_and_nothing_is_added(make_tenant: Callable) -> None:
    tenant_id, own = make_tenant()
    answer = own.post(
        "/suppressions", json={"tenant_id": tenant_id, "addresses": [GOOD, "not an address", "x@y.com\r\nBcc: z@y.com"]}
    )
    assert answer.status_code == 422
    assert [e["loc"] for e in answer.json()["detail"]] == [["body", "addresses", 1], ["body", "addresses", 2]]
    assert _listed(own, tenant_id)["suppressions"] == []
    assert own.post("/suppressions", json={"tenant_id": tenant_id, "addresses": []}).status_code == 422


def test_an_address_is_removed_percent_encoded_and_removing_it_again_is_404(make_tenant: Callable) -> None:
    tenant_id, own = make_tenant()
    _suppress(own, tenant_id, "a+tag@example.com")
    path = "/suppressions/" + quote("A+Tag@Example.com", safe="")
    assert own.ok("DELETE", path, params={"tenant_id": tenant_id}) == {"ok": True}
    again = own.delete(path, params={"tenant_id": tenant_id})
    assert again.status_code == 404 and again.json()["detail"] == "Address not suppressed"


def test_another_tenants_list_can_be_neither_read_nor_changed(make_tenant: Callable) -> None:
    mine, own = make_tenant()
    theirs, other = make_tenant()
    _suppress(other, theirs, GONE)
    assert own.get("/suppressions", params={"tenant_id": theirs}).status_code == 403
    assert own.post("/suppressions", json={"tenant_id": theirs, "addresses": [GOOD]}).status_code == 403
    assert own.delete(f"/suppressions/{GONE}", params={"tenant_id": theirs}).status_code == 403
    assert _listed(own, mine)["suppressions"] == []
    assert [s["address"] for s in _listed(other, theirs)["suppressions"]] == [GONE]


def test_both_commands_are_in_the_command_log_without_secrets(api: InProcessApi, make_tenant: Callable) -> None:
    tenant_id, own = make_tenant()
    _suppress(own, tenant_id, GONE)
    own.ok("DELETE", f"/suppressions/{GONE}", params={"tenant_id": tenant_id})
    log = api.ok("GET", "/command-log", params={"tenant_id": tenant_id})["commands"]
    assert [c["endpoint"] for c in log][-2:] == ["addSuppressions", "deleteSuppression"]
    assert log[-1]["payload"]["address"] == GONE


def test_a_suppressed_recipient_is_left_out_of_the_envelope_only(world: World) -> None:
    world.ports.suppressions.add(world.tenant_id, [GONE], "manual", 1)
    msg = world.message(to=[GOOD, GONE.upper()])
    row = world.send_one(**{k: v for k, v in msg.items() if k not in ("tenant_id", "account_id")})
    assert row["status"] == "sent"
    [received] = world.sink.by_id(row["id"])
    assert received.recipients == [GOOD]
    assert GONE.upper() in received.message["To"], "the headers are unchanged"
    [sent] = world.events(row["id"])
    assert sent["metadata"]["suppressed_recipients"] == [GONE.upper()]


def test_a_message_with_every_recipient_suppressed_ends_in_error_without_smtp(world: World) -> None:
    world.ports.suppressions.add(world.tenant_id, [GONE], "manual", 1)
    row = world.send_one(to=[GONE])
    assert (row["status"], row["error"]) == ("error", "all recipients suppressed")
    assert world.sink.data_started == 0 and world.sink.received == []
    [event] = world.events(row["id"])
    assert event["metadata"] == {"suppressed": [GONE]}


def test_one_tenants_suppression_does_not_touch_another_tenants_mail(
    make_world: Callable[..., World], ports: Ports
) -> None:
    first, second = make_world(ports), make_world(ports)
    first.ports.suppressions.add(first.tenant_id, [GONE], "manual", 1)
    assert second.send_one(to=[GONE])["status"] == "sent"


def test_a_5_1_x_refusal_suppresses_the_address_for_the_next_message(world: World) -> None:
    world.sink.behaviour = Behaviour(refuse_recipients={GONE})
    first = world.send_one(to=[GOOD, GONE])
    assert first["status"] == "sent"
    [entry] = world.ports.suppressions.page(world.tenant_id, None, 10, None)
    assert (entry["address"], entry["reason"], entry["message_id"]) == (GONE, "smtp_rejected", first["id"])
    world.sink.behaviour = Behaviour()
    second = world.send_one(to=[GONE])
    assert second["error"] == "all recipients suppressed"


def test_suppression_off_neither_applies_nor_adds(make_world: Callable[..., World], ports: Ports) -> None:
    world = make_world(ports)
    from chalicelib.services import tenants
    from tests.support.world import ADMIN

    tenants.update(ports, ADMIN, world.tenant_id, {"suppression_enabled": False})
    world.ports.suppressions.add(world.tenant_id, [GOOD], "manual", 1)
    assert world.send_one(to=[GOOD])["status"] == "sent", "not applied"
    world.sink.behaviour = Behaviour(refuse_recipients={GONE})
    world.send_one(to=[GOOD, GONE])
    assert [s["address"] for s in world.ports.suppressions.page(world.tenant_id, None, 10, None)] == [GOOD]


def test_an_unknown_tenant_is_404_for_the_admin(api: InProcessApi) -> None:
    assert api.post("/suppressions", json={"tenant_id": "no-such", "addresses": [GOOD]}).status_code == 404


def test_the_tenant_record_shows_the_extension_fields(api: InProcessApi, make_tenant: Callable) -> None:
    tenant_id, own = make_tenant(report_extensions=True)
    info = own.ok("GET", f"/tenant/{tenant_id}")
    assert (info["suppression_enabled"], info["report_extensions"]) == (True, True)
    assert api.post("/account", json=account_payload(tenant_id, 25)).status_code == 200
