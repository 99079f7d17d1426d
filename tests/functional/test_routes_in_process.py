"""Route rules in this process: the template's routes, API Gateway's event, the app's
handler, real PostgreSQL behind it. No subprocess stack, so a rule costs milliseconds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib import wiring
from chalicelib.services.ports import Ports
from tests.support.factories import account_payload, message_payload, tenant_payload
from tests.support.routes import InProcessApi


@pytest.fixture
def api(ports: Ports) -> Iterator[InProcessApi]:
    with wiring.ports_in_use(ports):
        yield InProcessApi(ports.settings.api_token)


@pytest.fixture
def tenant(api: InProcessApi) -> Iterator[tuple[str, InProcessApi]]:
    payload = tenant_payload()
    key = api.ok("POST", "/tenant", json=payload)["api_key"]
    yield payload["id"], api.as_token(key)
    api.delete(f"/tenant/{payload['id']}")


def test_a_missing_token_is_401_and_an_unknown_one_403(api: InProcessApi) -> None:
    assert api.as_token(None).get("/status").status_code == 401
    assert api.as_token("nope").get("/status").status_code == 403
    assert api.get("/status").status_code == 200


def test_a_tenant_key_cannot_reach_an_admin_route_or_another_tenant(
    api: InProcessApi, tenant: tuple[str, InProcessApi]
) -> None:
    tenant_id, own = tenant
    assert own.get("/tenants").status_code == 403
    assert own.get(f"/tenant/{tenant_id}").status_code == 200
    assert own.get("/tenant/someone-else").status_code == 403
    assert own.get("/messages", params={"tenant_id": "someone-else"}).status_code == 403


def test_an_invalid_body_is_422_before_the_scope_is_403(tenant: tuple[str, InProcessApi]) -> None:
    _, own = tenant
    answer = own.post("/account", json={"id": "a", "tenant_id": "someone-else", "host": "h", "port": "x"})
    assert answer.status_code == 422
    assert any("port" in str(e["loc"]) for e in answer.json()["detail"])
    assert own.post("/account", json=account_payload("someone-else", 25)).status_code == 403


def test_a_known_path_answers_other_methods_405_and_an_unknown_path_is_the_gateways_403(api: InProcessApi) -> None:
    assert api.request("PATCH", "/tenants").status_code == 405
    answer = api.get("/no-such-route")
    assert answer.status_code == 403 and answer.json() == {"message": "Missing Authentication Token"}


def test_a_body_that_is_not_json_is_415_and_broken_json_422(api: InProcessApi) -> None:
    assert api.post("/tenant", data="id=x", headers={"Content-Type": "text/plain"}).status_code == 415
    assert api.post("/tenant", data="{", headers={"Content-Type": "application/json"}).status_code == 422


def test_secrets_are_never_echoed_nor_logged(api: InProcessApi, tenant: tuple[str, InProcessApi]) -> None:
    tenant_id, own = tenant
    own.ok("POST", "/account", json=account_payload(tenant_id, 25, password="s3cret-pass"))
    assert "s3cret-pass" not in own.get("/accounts", params={"tenant_id": tenant_id}).text
    log = api.ok("GET", "/command-log", params={"tenant_id": tenant_id})["commands"]
    assert [c["endpoint"] for c in log] == ["addTenant", "addAccount"]
    assert "s3cret-pass" not in str(log)


def test_a_message_for_another_tenant_is_rejected_per_message(tenant: tuple[str, InProcessApi]) -> None:
    tenant_id, own = tenant
    own.ok("POST", "/account", json=account_payload(tenant_id, 25, id="acct"))
    answer = own.ok(
        "POST",
        "/commands/add-messages",
        json={
            "messages": [
                message_payload(tenant_id, "acct", id="mine"),
                message_payload("someone-else", "acct", id="theirs"),
            ]
        },
    )
    assert answer["queued"] == 1
    assert [r["id"] for r in answer["rejected"]] == ["theirs"]
