"""Every contract route, through the API Gateway resources of the built template.

The stack's API is the API Gateway stand-in reading the template's resources, invoking the
packaged API function with the REST proxy event those resources produce. Each route must
reach its own view: not API Gateway's 403 (no resource or method), not Chalice's routing
404/405, and answering what that view answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from devstack.stack import Stack
from tests.support.api import ApiClient
from tests.support.factories import account_payload, unique
from tests.support.smtp import SmtpSink

pytestmark = pytest.mark.integration

Check = Callable[[dict[str, Any]], bool]


def ok(body: dict[str, Any]) -> bool:
    return body.get("ok") is True


def routes(tenant: str, account: str) -> list[tuple[str, str, dict[str, Any] | None, int, Check]]:
    """(method, path, JSON body, status, what the view's answer shows) per contract route."""
    odd = "a/b c%"  # an id that needs percent-encoding in a path
    return [
        ("GET", "/health", None, 200, lambda b: b == {"status": "ok"}),
        ("GET", "/status", None, 200, lambda b: b.get("active") is True and "components" in b),
        ("POST", f"/commands/run-now?tenant_id={tenant}", None, 200, ok),
        (
            "POST",
            f"/commands/suspend?tenant_id={tenant}&batch_code=b1",
            None,
            200,
            lambda b: b.get("suspended_batches") == ["b1"],
        ),
        (
            "POST",
            f"/commands/activate?tenant_id={tenant}&batch_code=b1",
            None,
            200,
            lambda b: b.get("suspended_batches") == [],
        ),
        ("POST", "/commands/add-messages", {"messages": []}, 200, lambda b: b.get("queued") == 0),
        (
            "POST",
            f"/commands/delete-messages?tenant_id={tenant}",
            {"ids": ["nope"]},
            200,
            lambda b: b.get("unauthorized") == ["nope"],
        ),
        ("POST", f"/commands/cleanup-messages?tenant_id={tenant}", {}, 200, lambda b: b.get("removed") == 0),
        ("POST", "/account", account_payload(tenant, 2525, id=f"{account}-2"), 200, ok),
        (
            "GET",
            f"/accounts?tenant_id={tenant}",
            None,
            200,
            lambda b: {a["id"] for a in b["accounts"]} == {account, f"{account}-2"},
        ),
        ("DELETE", f"/account/{account}-2?tenant_id={tenant}", None, 200, ok),
        ("GET", f"/messages?tenant_id={tenant}", None, 200, lambda b: b.get("messages") == []),
        ("POST", "/tenant", {"id": tenant, "name": "renamed"}, 200, lambda b: "api_key" not in b and ok(b)),
        ("GET", "/tenants", None, 200, lambda b: tenant in {t["id"] for t in b["tenants"]}),
        ("GET", "/tenants/sync-status", None, 200, lambda b: "sync_interval_seconds" in b),
        ("GET", f"/tenant/{tenant}", None, 200, lambda b: b.get("id") == tenant and b.get("name") == "renamed"),
        ("PUT", f"/tenant/{tenant}", {"name": "again"}, 200, ok),
        (
            "GET",
            f"/tenant/{requests.utils.quote(odd, safe='')}",
            None,
            404,
            lambda b: b.get("detail") == f"Tenant '{odd}' not found",
        ),
        ("POST", f"/tenant/{tenant}/api-key", {}, 200, lambda b: str(b.get("api_key", "")).startswith("mpk_")),
        (
            "POST",
            f"/tenant/{tenant}/signing-secret",
            None,
            200,
            lambda b: str(b.get("signing_secret", "")).startswith("mps_"),
        ),
        ("DELETE", f"/tenant/{tenant}/api-key", None, 200, ok),
        ("GET", "/instance", None, 200, lambda b: "bounce_enabled" in b or ok(b)),
        ("PUT", "/instance", {"name": "routing"}, 200, ok),
        ("POST", "/instance/reload-bounce", None, 200, ok),
        ("GET", f"/command-log?tenant_id={tenant}", None, 200, lambda b: b.get("total", 0) >= 1),
        ("GET", f"/command-log/export?tenant_id={tenant}", None, 200, lambda b: len(b.get("commands", [])) >= 1),
        ("DELETE", f"/tenant/{tenant}", None, 200, ok),
    ]


def test_every_contract_route_reaches_its_own_view(stack: Stack, admin: ApiClient, sink: SmtpSink) -> None:
    tenant, account = unique("route"), unique("acct")
    admin.ok("POST", "/tenant", json={"id": tenant})
    admin.ok("POST", "/account", json=account_payload(tenant, sink.port, id=account))
    for method, path, body, status, shows in routes(tenant, account):
        answer = requests.request(
            method, stack.api_url + path, json=body, timeout=30, headers={"X-API-Token": stack.token}
        )
        assert answer.status_code == status, (method, path, answer.status_code, answer.text)
        parsed = answer.json()
        assert "Code" not in parsed and "message" not in parsed, (method, path, parsed)  # routing errors
        assert shows(parsed), (method, path, parsed)


def test_metrics_is_routed_as_the_local_deployment_chose(stack: Stack) -> None:
    answer = requests.get(f"{stack.api_url}/metrics", timeout=10)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/no-such-route"), ("PATCH", "/health/extra"), ("GET", "/tenant/a/b/c")]
)
def test_what_no_resource_serves_is_refused_by_api_gateway_itself(stack: Stack, method: str, path: str) -> None:
    answer = requests.request(method, stack.api_url + path, timeout=10)
    assert answer.status_code == 403
    assert answer.json() == {"message": "Missing Authentication Token"}


def test_known_paths_answer_other_methods_from_the_app_with_the_contracts_405(stack: Stack) -> None:
    answer = requests.patch(f"{stack.api_url}/health", timeout=10)
    assert answer.status_code == 405 and answer.json() == {"detail": "Method Not Allowed"}
