"""Describing the API (extension 7.6): /openapi.json is a valid OpenAPI 3.1 document of
every route, built from the schemas the routes validate with; /docs renders it alone."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from openapi_spec_validator import validate

from chalicelib import wiring
from chalicelib.domain import schemas
from chalicelib.services.ports import Ports
from devstack.cfn import Context, Template
from tests.support.routes import InProcessApi


@pytest.fixture
def anonymous(ports: Ports) -> Iterator[InProcessApi]:
    with wiring.ports_in_use(ports):
        yield InProcessApi(None)


def test_the_document_is_valid_openapi_3_1_of_every_route_the_template_serves(anonymous: InProcessApi) -> None:
    doc = anonymous.ok("GET", "/openapi.json")
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    served = {(path, method.lower()) for path, item in Template.load(Context(parameters={})).api_paths().items()
              for method in item if method.upper() in {"GET", "POST", "PUT", "DELETE"}}
    described = {(path, method) for path, item in doc["paths"].items() for method in item}
    # Every route the API answers itself (not its 405s) is described.
    assert {op for op in described if op in served} == described
    for path, method in [("/commands/add-messages", "post"), ("/suppressions", "get"),
                         ("/messages/{message_id}", "get"), ("/unsubscribe/{token}", "post"),
                         ("/tenant/{tenant_id}", "put"), ("/openapi.json", "get")]:
        assert method in doc["paths"][path], (path, method)


def test_bodies_are_the_schemas_the_routes_validate_with(anonymous: InProcessApi) -> None:
    doc = anonymous.ok("GET", "/openapi.json")
    body = doc["paths"]["/commands/add-messages"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == schemas.ADD_MESSAGES
    assert doc["paths"]["/tenants"]["get"]["description"] == "Admin token only."
    assert "security" not in doc["paths"]["/health"]["get"]


def test_the_page_renders_every_operation_with_no_asset_from_elsewhere(anonymous: InProcessApi) -> None:
    page = anonymous.get("/docs")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "POST /commands/add-messages" in page.text and "GET /suppressions" in page.text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page.text), "no CDN, no remote asset"
    assert "<script" not in page.text
