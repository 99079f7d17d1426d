"""A tenant's client_auth: kept on update when its method is kept (docs/api.md §4.8), required
when none is stored, and never sent to a URL a message names (docs/api.md §5.5)."""

from __future__ import annotations

import pytest

from chalicelib.errors import RequestValidationError
from chalicelib.services import client_app, tenants
from chalicelib.services.ports import Ports
from tests.support.echo import EchoServer
from tests.support.factories import tenant_payload
from tests.support.world import ADMIN, World

pytestmark = pytest.mark.functional


def stored_auth(ports: Ports, tenant_id: str) -> dict | None:
    row = ports.tenants.get(tenant_id)
    assert row is not None
    return client_app.client_auth(ports, row)


def test_an_update_keeping_the_method_keeps_the_stored_token(ports: Ports) -> None:
    payload = tenant_payload(client_auth={"method": "bearer", "token": "tok-1"})
    tenants.create_or_replace(ports, ADMIN, payload)
    try:
        tenants.update(ports, ADMIN, payload["id"], {"client_auth": {"method": "bearer"}})
        assert stored_auth(ports, payload["id"]) == {"method": "bearer", "user": None, "token": "tok-1"}
        with pytest.raises(RequestValidationError) as failure:
            tenants.update(ports, ADMIN, payload["id"], {"client_auth": {"method": "basic", "user": "u"}})
        assert failure.value.detail == [
            {"loc": ["body", "client_auth", "password"], "msg": "Field required", "type": "missing"}
        ]
    finally:
        tenants.delete(ports, ADMIN, payload["id"])


def test_a_new_tenant_needs_the_secret_of_its_method(ports: Ports) -> None:
    payload = tenant_payload(client_auth={"method": "bearer"})
    with pytest.raises(RequestValidationError) as failure:
        tenants.create_or_replace(ports, ADMIN, payload)
    assert failure.value.detail[0]["loc"] == ["body", "client_auth", "token"]
    assert ports.tenants.get(payload["id"]) is None


def test_client_auth_is_never_sent_to_an_http_url_attachment(world: World, echo: EchoServer) -> None:
    tenants.update(world.ports, ADMIN, world.tenant_id, {"client_auth": {"method": "bearer", "token": "tenant-secret"}})
    echo.files["/public.txt"] = b"public"
    echo.files["/private.txt"] = b"private"
    row = world.send_one(
        attachments=[
            {"filename": "public.txt", "storage_path": f"{echo.url}/public.txt"},
            {
                "filename": "private.txt",
                "storage_path": f"{echo.url}/private.txt",
                "auth": {"method": "bearer", "token": "attachment-own"},
            },
        ]
    )
    assert row["status"] == "sent"
    headers = {r["path"]: r["headers"].get("Authorization") for r in echo.gets}
    assert headers == {"/public.txt": None, "/private.txt": "Bearer attachment-own"}
