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
    admin.ok(
        "PUT",
        "/instance",
        json={
            "bounce_enabled": True,
            "bounce_imap_host": "127.0.0.1",
            "bounce_imap_port": dovecot.port,
            "bounce_imap_ssl": False,
            "bounce_imap_user": dovecot.user,
            "bounce_imap_password": dovecot.password,
            "bounce_poll_interval": 1,
            "bounce_imap_folder": "INBOX",
        },
    )
    admin.ok("POST", "/instance/reload-bounce")
    yield dovecot
    admin.ok("PUT", "/instance", json={"bounce_enabled": False})


def final(handle: TenantHandle, msg_id: str) -> dict:
    return eventually(
        lambda: (m := handle.client.message(handle.id, msg_id)) and m["status"] in ("sent", "error") and m,
        what=f"{msg_id} final",
    )


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
    make_tenant: TenantFactory, sink: SmtpSink, bounce_box: Dovecot, echo: EchoServer
) -> None:
    tenant = make_tenant(sink, tenant={"client_base_url": echo.url, "report_extensions": True})
    msg = tenant.message(to=["reader@example.com"])
    submit(tenant, msg)
    final(tenant, msg["id"])
    append(bounce_box, arf(msg["id"], "reader@example.com", "abuse"))
    eventually(lambda: suppressed(tenant) == {"reader@example.com": "complaint"}, timeout=20, what="complaint")
    record = tenant.client.message(tenant.id, msg["id"])
    assert record["status"] == "sent" and record["complaint_ts"]

    def reported() -> list[dict]:
        return [
            e
            for r in echo.requests
            for e in json.loads(r["body"]).get("delivery_report", [])
            if e["id"] == msg["id"] and "complaint_ts" in e
        ]

    [entry] = eventually(reported, timeout=30, what="complaint entry reported")
    assert entry == {"id": msg["id"], "complaint_ts": entry["complaint_ts"], "feedback_type": "abuse"}


def test_the_list_pages_filters_refuses_bad_addresses_and_logs_its_commands(
    admin: ApiClient, tenant: TenantHandle
) -> None:
    own = tenant.client
    assert (
        own.ok(
            "POST",
            "/suppressions",
            json={"tenant_id": tenant.id, "addresses": ["A@Example.com", "b@example.com", "c@example.com"]},
        )["added"]
        == 3
    )
    bad = own.post("/suppressions", json={"tenant_id": tenant.id, "addresses": ["ok@example.com", "nope"]})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "addresses", 1]
    first = own.ok("GET", "/suppressions", params={"tenant_id": tenant.id, "limit": 2})
    rest = own.ok("GET", "/suppressions", params={"tenant_id": tenant.id, "limit": 2, "cursor": first["next_cursor"]})
    assert [s["address"] for s in first["suppressions"] + rest["suppressions"]] == [
        "c@example.com",
        "b@example.com",
        "a@example.com",
    ]
    assert rest["next_cursor"] is None
    assert own.ok("GET", "/suppressions", params={"tenant_id": tenant.id, "reason": "complaint"})["suppressions"] == []
    assert own.ok("DELETE", "/suppressions/A%40EXAMPLE.com", params={"tenant_id": tenant.id}) == {"ok": True}
    gone = own.delete("/suppressions/a%40example.com", params={"tenant_id": tenant.id})
    assert gone.status_code == 404 and gone.json() == {"detail": "Address not suppressed"}
    log = admin.ok("GET", "/command-log", params={"tenant_id": tenant.id})["commands"]
    assert [(c["endpoint"], c["response_status"]) for c in log if "Suppression" in c["endpoint"]] == [
        ("addSuppressions", 200),
        ("deleteSuppression", 200),
        ("deleteSuppression", 404),
    ]


def test_events_name_what_was_left_out(tenant: TenantHandle) -> None:
    tenant.client.ok("POST", "/suppressions", json={"tenant_id": tenant.id, "addresses": [GONE]})
    mixed, alone = tenant.message(to=[GOOD], cc=[GONE]), tenant.message(to=[GONE])
    submit(tenant, mixed, alone)
    final(tenant, mixed["id"])
    final(tenant, alone["id"])
    history = {m["id"]: m["history"] for m in tenant.client.messages(tenant.id, include_history="true")}
    assert history[mixed["id"]][-1]["metadata"]["suppressed_recipients"] == [GONE]
    assert history[alone["id"]][-1]["metadata"] == {"suppressed": [GONE]}
    assert tenant.sink.by_id(mixed["id"])[0].message["Cc"] == GONE, "headers unchanged"


def test_a_tenant_that_turned_suppression_off_neither_applies_nor_adds(tenant: TenantHandle) -> None:
    tenant.client.ok("PUT", f"/tenant/{tenant.id}", json={"suppression_enabled": False})
    tenant.client.ok("POST", "/suppressions", json={"tenant_id": tenant.id, "addresses": [GOOD]})
    tenant.sink.behaviour = Behaviour(refuse_recipients={GONE})
    msg = tenant.message(to=[GOOD, GONE])
    submit(tenant, msg)
    assert final(tenant, msg["id"])["status"] == "sent"
    assert [r.recipients for r in tenant.sink.by_id(msg["id"])] == [[GOOD]], "GOOD sent despite its entry"
    assert suppressed(tenant) == {GOOD: "manual"}, "the 5.1.1 refusal added nothing"
