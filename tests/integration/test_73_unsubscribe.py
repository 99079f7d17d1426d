"""Extension 7.3 over the running stack: the link in the mail the SMTP server received,
POSTed as a mail provider does, through the template's routes to the packaged API."""

from __future__ import annotations

import re

import requests

from devstack.stack import Stack
from tests.support.polling import eventually
from tests.support.tenants import TenantHandle


def _sent_link(tenant: TenantHandle, **over: object) -> tuple[dict, str]:
    msg = tenant.message(**over)
    tenant.client.ok("POST", "/commands/add-messages", json={"messages": [msg]})
    received = eventually(lambda: tenant.sink.by_id(msg["id"]), what="delivered")[0].message
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    found = re.search(r"<(http[^>]+/unsubscribe/[^>]+)>", received["List-Unsubscribe"])
    assert found, received["List-Unsubscribe"]
    return msg, found.group(1)


def test_the_one_click_post_of_a_provider_unsubscribes_the_recipient(stack: Stack, tenant: TenantHandle) -> None:
    tenant.client.ok("PUT", f"/tenant/{tenant.id}", json={"unsubscribe": {"enabled": True}})
    assert tenant.client.ok("GET", f"/tenant/{tenant.id}")["unsubscribe"] == {"enabled": True, "mailto": None}
    msg, link = _sent_link(tenant, to=["reader@example.com"])
    assert link.startswith(stack.api_url)
    page = requests.get(link, timeout=10)
    assert page.status_code == 200 and "<form" in page.text
    assert tenant.client.ok("GET", "/suppressions", params={"tenant_id": tenant.id})["suppressions"] == []
    answer = requests.post(
        link,
        data="List-Unsubscribe=One-Click",
        timeout=10,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200
    listed = tenant.client.ok("GET", "/suppressions", params={"tenant_id": tenant.id})["suppressions"]
    assert [(s["address"], s["reason"]) for s in listed] == [("reader@example.com", "unsubscribe")]
    assert tenant.client.message(tenant.id, msg["id"])["unsubscribed_ts"] is not None
    again = requests.post(
        link,
        data="List-Unsubscribe=One-Click",
        timeout=10,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert again.status_code == 200
    history = next(m for m in tenant.client.messages(tenant.id, include_history="true") if m["id"] == msg["id"])
    assert [e["event_type"] for e in history["history"]] == ["sent", "unsubscribed"], "repeating is harmless"
    forged = requests.post(link[:-3] + "AAA", data="List-Unsubscribe=One-Click", timeout=10)
    assert forged.status_code == 404
