"""Extensions 7.1 and 7.2 over the running stack: the suppression list through HTTP, applied by the
packaged dispatch function, filled by a DSN in the real IMAP mailbox and by 5.1.x refusals."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from devstack.dovecot import Dovecot
from tests.support.api import ApiClient
from tests.support.bounce_mail import append, arf, dsn
from tests.support.echo import EchoServer
from tests.support.polling import eventually
from tests.support.smtp import Behaviour, SmtpSink
from tests.support.tenants import TenantFactory, TenantHandle

GOOD, GONE = "good@example.com", "gone@example.com"


@pytest.fixture
def bounce_box(admin: ApiClient, dovecot: Dovecot) -> Iterator[Dovecot]:
    admin.ok("PUT", "/instance", json={
        "bounce_enabled": True, "bounce_imap_host": "127.0.0.1", "bounce_imap_port": dovecot.port,
        "bounce_imap_ssl": False, "bounce_imap_user": dovecot.user, "bounce_imap_password": dovecot.password,
        "bounce_poll_interval": 1, "bounce_imap_folder": "INBOX"})
    admin.ok("POST", "/instance/reload-bounce")
    yield dovecot
    admin.ok("PUT", "/instance", json={"bounce_enabled": False})


def final(handle: TenantHandle, msg_id: str) -> dict:
    return eventually(lambda: (m := handle.client.message(handle.id, msg_id)) and m["status"] in ("sent", "error")
                      and m, what=f"{msg_id} final")


def submit(handle: TenantHandle, *messages: dict) -> None:
    handle.client.ok("POST", "/commands/add-messages", json={"messages": list(messages)})


def suppressed(handle: TenantHandle) -> dict[str, str]:
    page = handle.client.ok("GET", "/suppressions", params={"tenant_id": handle.id})
    return {s["address"]: s["reason"] for s in page["suppressions"]}


def test_a_suppressed_address_never_reaches_the_tenants_smtp_server_again(tenant: TenantHandle) -> None:
    assert tenant.client.ok("POST", "/suppressions", json={"tenant_id": tenant.id, "addresses": [GONE]})["added"] == 1
    mixed, alone = tenant.message(to=[GOOD, GONE]), tenant.message(to=[GONE])
    submit(tenant, mixed, alone)
    assert final(tenant, mixed["id"])["status"] == "sent"
    record = final(tenant, alone["id"])
    assert (record["status"], record["error"]) == ("error", "all recipients suppressed")
    assert [r.recipients for r in tenant.sink.by_id(mixed["id"])] == [[GOOD]]
    assert tenant.sink.by_id(alone["id"]) == []
    tenant.client.ok("DELETE", f"/suppressions/{GONE}", params={"tenant_id": tenant.id})
    again = tenant.message(to=[GONE])
    submit(tenant, again)
    assert final(tenant, again["id"])["status"] == "sent"


def test_a_dsn_5_1_1_in_the_mailbox_suppresses_the_recipient(tenant: TenantHandle, bounce_box: Dovecot) -> None:
    msg = tenant.message(to=[GONE])
    submit(tenant, msg)
    final(tenant, msg["id"])
    append(bounce_box, dsn(msg["id"], recipient=GONE, status="5.1.1"))
    eventually(lambda: suppressed(tenant) == {GONE: "hard_bounce"}, timeout=20, what="suppressed by the bounce")
    later = tenant.message(to=[GONE, GOOD])
    submit(tenant, later)
    final(tenant, later["id"])
    assert [r.recipients for r in tenant.sink.by_id(later["id"])] == [[GOOD]]


def test_a_5_1_1_rcpt_refusal_suppresses_the_address(tenant: TenantHandle) -> None:
    tenant.sink.behaviour = Behaviour(refuse_recipients={GONE})
    msg = tenant.message(to=[GOOD, GONE])
    submit(tenant, msg)
    final(tenant, msg["id"])
    eventually(lambda: suppressed(tenant) == {GONE: "smtp_rejected"}, what="suppressed by the refusal")


def test_suppressions_are_per_tenant(make_tenant: TenantFactory, sink: SmtpSink, sink2: SmtpSink) -> None:
    first, second = make_tenant(sink), make_tenant(sink2)
    first.client.ok("POST", "/suppressions", json={"tenant_id": first.id, "addresses": [GONE]})
    assert second.client.get("/suppressions", params={"tenant_id": first.id}).status_code == 403
    msg = second.message(to=[GONE])
    submit(second, msg)
    assert final(second, msg["id"])["status"] == "sent"
    assert suppressed(second) == {}


def test_a_feedback_report_in_the_mailbox_is_a_complaint_reported_to_a_tenant_that_asked(
        make_tenant: TenantFactory, sink: SmtpSink, bounce_box: Dovecot, echo: EchoServer) -> None:
    tenant = make_tenant(sink, tenant={"client_base_url": echo.url, "report_extensions": True})
    msg = tenant.message(to=["reader@example.com"])
    submit(tenant, msg)
    final(tenant, msg["id"])
    append(bounce_box, arf(msg["id"], "reader@example.com", "abuse"))
    eventually(lambda: suppressed(tenant) == {"reader@example.com": "complaint"}, timeout=20, what="complaint")
    record = tenant.client.message(tenant.id, msg["id"])
    assert record["status"] == "sent" and record["complaint_ts"]

    def reported() -> list[dict]:
        return [e for r in echo.requests for e in json.loads(r["body"]).get("delivery_report", [])
                if e["id"] == msg["id"] and "complaint_ts" in e]

    [entry] = eventually(reported, timeout=30, what="complaint entry reported")
    assert entry == {"id": msg["id"], "complaint_ts": entry["complaint_ts"], "feedback_type": "abuse"}
