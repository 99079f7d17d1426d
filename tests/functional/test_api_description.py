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
    served = {
        (path, method.lower())
        for path, item in Template.load(Context(parameters={})).api_paths().items()
        for method in item
        if method.upper() in {"GET", "POST", "PUT", "DELETE"}
    }
    described = {(path, method) for path, item in doc["paths"].items() for method in item}
    # Every route the API answers itself (not its 405s) is described.
    assert {op for op in described if op in served} == described
    for path, method in [
        ("/commands/add-messages", "post"),
        ("/suppressions", "get"),
        ("/messages/{message_id}", "get"),
        ("/unsubscribe/{token}", "post"),
        ("/tenant/{tenant_id}", "put"),
        ("/openapi.json", "get"),
    ]:
        assert method in doc["paths"][path], (path, method)


def test_bodies_are_the_schemas_the_routes_validate_with(anonymous: InProcessApi) -> None:
    doc = anonymous.ok("GET", "/openapi.json")
    body = doc["paths"]["/commands/add-messages"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == schemas.ADD_MESSAGES
    assert doc["paths"]["/tenants"]["get"]["description"] == "Admin token only."
    assert "security" not in doc["paths"]["/health"]["get"]


def test_the_page_is_swagger_ui_whose_files_this_api_serves_itself(anonymous: InProcessApi) -> None:
    page = anonymous.get("/docs")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert not re.search(r"""(src|href|url)\s*[=:]\s*["']?(https?:)?//""", page.text), "no CDN, no remote asset"
    assert 'src="docs/swagger-ui-bundle.js"' in page.text and 'href="docs/swagger-ui.css"' in page.text
    assert "validatorUrl: null" in page.text  # Swagger UI would fetch a badge from the internet
    script = anonymous.get("/docs/swagger-ui-bundle.js")
    assert script.status_code == 200 and script.headers["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.text
    assert anonymous.get("/docs/swagger-ui.css").headers["Content-Type"].startswith("text/css")


def test_every_operation_has_an_example_answer_and_every_body_an_accepted_example(anonymous: InProcessApi) -> None:
    from chalicelib.domain.api_examples import EXAMPLES

    doc = anonymous.ok("GET", "/openapi.json")
    described = {(method.upper(), path) for path, item in doc["paths"].items() for method in item}
    assert described == set(EXAMPLES), sorted(described ^ set(EXAMPLES))
    for path, item in doc["paths"].items():
        for method, op in item.items():
            answer = op["responses"]["200"]["content"]
            assert all("example" in media for media in answer.values()), (method, path)
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body is None:
                continue
            if op["requestBody"]["required"]:
                assert "example" in body, (method, path)
            if "example" in body:
                assert schemas.schema_errors(body["schema"], body["example"]) == [], (method, path)
    assert "X-API-Token" in doc["info"]["description"] and "422" in doc["info"]["description"]
