"""Extension 7.5 over the running stack: one message by id with its timeline, and a search
by recipient, through the template's routes to the packaged API."""

from __future__ import annotations

from tests.support.api import ApiClient
from tests.support.polling import eventually
from tests.support.tenants import TenantHandle


def test_a_message_is_found_by_recipient_and_shown_with_its_timeline(tenant: TenantHandle) -> None:
    wanted = tenant.message(to=["Needle <Needle@Example.com>"])
    tenant.client.ok("POST", "/commands/add-messages", json={"messages": [wanted, tenant.message(), tenant.message()]})
    eventually(lambda: (tenant.client.message(tenant.id, wanted["id"]) or {}).get("status") == "sent", what="sent")
    found = tenant.client.ok(
        "GET", "/messages", params={"tenant_id": tenant.id, "q": "needle@example.com", "limit": 10}
    )
    assert [m["id"] for m in found["messages"]] == [wanted["id"]] and found["next_cursor"] is None
    one = tenant.client.ok("GET", f"/messages/{wanted['id']}", params={"tenant_id": tenant.id})["message"]
    assert one["status"] == "sent" and [e["event_type"] for e in one["history"]] == ["sent"]
    assert tenant.client.get("/messages/no-such", params={"tenant_id": tenant.id}).status_code == 404
    assert tenant.client.get(f"/messages/{wanted['id']}", params={"tenant_id": "other"}).status_code == 403


def test_an_answer_too_large_for_lambda_is_cut_and_carries_a_cursor(tenant: TenantHandle, admin: ApiClient) -> None:
    """Lambda refuses a synchronous answer over 6 MB (API Gateway then answers 502): however
    large the messages, a listing is cut below it and the cursor leads to the rest."""
    tenant.client.ok("POST", "/commands/suspend", params={"tenant_id": tenant.id})
    body = 'Lorem ipsum "dolor" sit amet, ünïcødé. ' * 100  # 4 KB, quotes and non-ASCII to escape
    for chunk in range(8):
        batch = [tenant.message(id=f"big-{chunk}-{i}", body=body) for i in range(500)]
        tenant.client.ok("POST", "/commands/add-messages", json={"messages": batch})

    unpaged = tenant.client.get("/messages", params={"tenant_id": tenant.id})
    assert unpaged.status_code == 200, unpaged.text[:300]
    first = unpaged.json()
    assert 0 < len(first["messages"]) < 4000 and first["next_cursor"]
    seen = [m["id"] for m in first["messages"]]
    cursor = first["next_cursor"]
    while cursor:
        page = tenant.client.ok("GET", "/messages", params={"tenant_id": tenant.id, "cursor": cursor, "limit": 1000})
        seen += [m["id"] for m in page["messages"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 4000

    # The command log keeps a bounded summary of those eight 2.5 MB requests (16 KB each at most):
    # who sent what where, never the bodies, so its answers stay small whatever was sent.
    for path in ("/command-log", "/command-log/export"):
        logged = admin.get(path, params={"tenant_id": tenant.id})
        assert logged.status_code == 200, (path, logged.text[:200])
        commands = logged.json()["commands"]
        assert [c["endpoint"] for c in commands[:2]] == ["addTenant", "addAccount"], "oldest first, as v1 orders"
        adds = [c["payload"] for c in commands if c["endpoint"] == "addMessages"]
        assert len(adds) == 8 and all(p["summarized"] and p["message_count"] == 500 for p in adds)
        assert all("body" not in m for p in adds for m in p["messages"])
        assert len(logged.content) < 8 * 20_000 + 10_000
