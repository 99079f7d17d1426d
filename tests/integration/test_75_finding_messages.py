"""Extension 7.5 over the running stack: one message by id with its timeline, and a search
by recipient, through the template's routes to the packaged API."""

from __future__ import annotations

from tests.support.polling import eventually
from tests.support.tenants import TenantHandle


def test_a_message_is_found_by_recipient_and_shown_with_its_timeline(tenant: TenantHandle) -> None:
    wanted = tenant.message(to=["Needle <Needle@Example.com>"])
    tenant.client.ok("POST", "/commands/add-messages", json={"messages": [wanted, tenant.message(), tenant.message()]})
    eventually(lambda: (tenant.client.message(tenant.id, wanted["id"]) or {}).get("status") == "sent", what="sent")
    found = tenant.client.ok("GET", "/messages", params={"tenant_id": tenant.id, "q": "needle@example.com",
                                                         "limit": 10})
    assert [m["id"] for m in found["messages"]] == [wanted["id"]] and found["next_cursor"] is None
    one = tenant.client.ok("GET", f"/messages/{wanted['id']}", params={"tenant_id": tenant.id})["message"]
    assert one["status"] == "sent" and [e["event_type"] for e in one["history"]] == ["sent"]
    assert tenant.client.get("/messages/no-such", params={"tenant_id": tenant.id}).status_code == 404
    assert tenant.client.get(f"/messages/{wanted['id']}", params={"tenant_id": "other"}).status_code == 403
