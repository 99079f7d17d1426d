"""Catalogue group 60_imap: tracking header, bounce fields, live polling of a real Dovecot."""

from __future__ import annotations

import imaplib
import json
from collections.abc import Iterator
from email import message_from_bytes, policy

import pytest

from chalicelib.domain.bounces import parse
from devstack.dovecot import Dovecot
from tests.support.api import ApiClient
from tests.support.bounce_mail import append, dsn, mailbox_size, plain
from tests.support.echo import EchoServer
from tests.support.polling import eventually
from tests.support.smtp import SmtpSink
from tests.support.tenants import TenantFactory, TenantHandle


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
        },
    )
    admin.ok("POST", "/instance/reload-bounce")
    yield dovecot
    admin.ok("PUT", "/instance", json={"bounce_enabled": False})


def sent(admin: ApiClient, handle: TenantHandle, **over: object) -> dict:
    msg = handle.message(**over)
    admin.ok("POST", "/commands/add-messages", json={"messages": [msg]})
    eventually(lambda: (admin.message(handle.id, msg["id"]) or {}).get("status") == "sent", what="sent")
    return msg


def bounced(admin: ApiClient, handle: TenantHandle, msg_id: str) -> dict:
    return eventually(
        lambda: (m := admin.message(handle.id, msg_id)) and m["status"] == "bounced" and m, timeout=15, what="bounced"
    )


class TestBounceDetection:
    def test_x_genro_mail_id_header_added_to_outgoing_email(self, admin: ApiClient, tenant: TenantHandle) -> None:
        msg = sent(admin, tenant)
        assert tenant.sink.by_id(msg["id"])[0].message["X-Genro-Mail-ID"] == msg["id"]

    def test_bounce_fields_present_in_messages_response(
        self, admin: ApiClient, tenant: TenantHandle, bounce_box: Dovecot
    ) -> None:
        msg = sent(admin, tenant)
        append(bounce_box, dsn(msg["id"]))
        record = bounced(admin, tenant, msg["id"])
        assert {"bounce_type", "bounce_code", "bounce_reason", "bounce_ts"} <= set(record)

    def test_message_record_has_bounce_type_code_reason(
        self, admin: ApiClient, tenant: TenantHandle, bounce_box: Dovecot
    ) -> None:
        msg = sent(admin, tenant)
        append(bounce_box, dsn(msg["id"]))
        record = bounced(admin, tenant, msg["id"])
        assert (record["bounce_type"], record["bounce_code"]) == ("hard", "511")
        assert record["bounce_reason"].endswith("Recipient address rejected: User unknown")
        assert isinstance(record["bounce_ts"], int)

    def test_each_message_gets_unique_x_genro_mail_id(self, admin: ApiClient, tenant: TenantHandle) -> None:
        ids = [sent(admin, tenant)["id"] for _ in range(3)]
        assert sorted(tenant.sink.ids()) == sorted(ids) and len(set(ids)) == 3

    def test_x_genro_mail_id_coexists_with_custom_headers(self, admin: ApiClient, tenant: TenantHandle) -> None:
        msg = sent(admin, tenant, headers={"X-Custom": "1", "X-Other": "two"})
        email = tenant.sink.by_id(msg["id"])[0].message
        assert email["X-Custom"] == "1" and email["X-Other"] == "two" and email["X-Genro-Mail-ID"] == msg["id"]


class TestBounceEndToEnd:
    def test_dovecot_imap_server_is_accessible(self, dovecot: Dovecot) -> None:
        imap = imaplib.IMAP4("127.0.0.1", dovecot.port)
        assert imap.login(dovecot.user, dovecot.password)[0] == "OK"
        imap.logout()

    def test_bounce_email_injected_via_imap_append(self, dovecot: Dovecot) -> None:
        before = mailbox_size(dovecot)
        append(dovecot, plain("Injected"))
        assert mailbox_size(dovecot) == before + 1

    def test_generated_dsn_bounce_is_rfc3464_compliant(self) -> None:
        mail = message_from_bytes(dsn("m-1"), policy=policy.default)
        assert mail.get_content_type() == "multipart/report"
        assert mail.get_param("report-type") == "delivery-status"
        parts = [p.get_content_type() for p in mail.iter_parts()]
        assert parts == ["text/plain", "message/delivery-status", "message/rfc822"]

    def test_soft_bounce_4xx_format_is_correct(self) -> None:
        bounce = parse(dsn("m-2", status="4.4.1", diagnostic="smtp; 421 4.4.1 Connection timed out", action="delayed"))
        assert bounce is not None and (bounce.bounce_type, bounce.bounce_code) == ("soft", "441")

    def test_bounce_parser_extracts_x_genro_mail_id(self) -> None:
        assert parse(dsn("msg-extract-7")).mail_id == "msg-extract-7"

    def test_bounce_parser_classifies_hard_vs_soft(self) -> None:
        assert parse(dsn("h")).bounce_type == "hard"
        assert parse(dsn("s", status="4.2.2", diagnostic="smtp; 452 4.2.2 Over quota")).bounce_type == "soft"

    def test_sent_message_includes_tracking_header(self, admin: ApiClient, tenant: TenantHandle) -> None:
        msg = sent(admin, tenant)
        assert b"X-Genro-Mail-ID: " + msg["id"].encode() in tenant.sink.by_id(msg["id"])[0].data

    def test_bounce_updates_message_in_database(
        self, admin: ApiClient, tenant: TenantHandle, bounce_box: Dovecot
    ) -> None:
        msg = sent(admin, tenant)
        append(bounce_box, dsn(msg["id"]))
        bounced(admin, tenant, msg["id"])
        history = next(m for m in admin.messages(tenant.id, include_history="1") if m["id"] == msg["id"])["history"]
        assert [h["event_type"] for h in history] == ["sent", "bounce"]

    def test_multiple_bounces_correlated_to_correct_messages(
        self, admin: ApiClient, tenant: TenantHandle, bounce_box: Dovecot
    ) -> None:
        one, two, three = (sent(admin, tenant) for _ in range(3))
        append(bounce_box, dsn(one["id"]), dsn(three["id"], status="4.2.2", diagnostic="smtp; 452 full"))
        assert bounced(admin, tenant, one["id"])["bounce_type"] == "hard"
        assert bounced(admin, tenant, three["id"])["bounce_type"] == "soft"
        assert admin.message(tenant.id, two["id"])["status"] == "sent"


class TestBounceLivePolling:
    def test_hard_bounce_detected_by_receiver(
        self, admin: ApiClient, tenant: TenantHandle, bounce_box: Dovecot
    ) -> None:
        msg = sent(admin, tenant)
        append(bounce_box, dsn(msg["id"]))
        assert bounced(admin, tenant, msg["id"])["bounce_type"] == "hard"

    def test_soft_bounce_detected_and_classified(
        self, admin: ApiClient, tenant: TenantHandle, bounce_box: Dovecot
    ) -> None:
        msg = sent(admin, tenant)
        append(bounce_box, dsn(msg["id"], status="4.2.2", diagnostic="smtp; 452 4.2.2 Mailbox full"))
        record = bounced(admin, tenant, msg["id"])
        assert (record["bounce_type"], record["bounce_code"]) == ("soft", "422")

    def test_bounce_info_included_in_delivery_report(
        self, admin: ApiClient, make_tenant: TenantFactory, sink: SmtpSink, echo: EchoServer, bounce_box: Dovecot
    ) -> None:
        handle = make_tenant(sink, tenant={"client_base_url": echo.url})
        msg = sent(admin, handle)
        append(bounce_box, dsn(msg["id"]))

        def bounce_entry() -> dict | None:
            for request in echo.requests:
                for entry in json.loads(request["body"])["delivery_report"]:
                    if entry["id"] == msg["id"] and "bounce_ts" in entry:
                        return entry
            return None

        entry = eventually(bounce_entry, timeout=15, what="bounce entry reported")
        assert set(entry) == {"id", "bounce_ts", "bounce_type", "bounce_code", "bounce_reason"}
        assert (entry["bounce_type"], entry["bounce_code"]) == ("hard", "511")

    def test_multiple_bounces_processed_in_single_poll(
        self, admin: ApiClient, tenant: TenantHandle, bounce_box: Dovecot
    ) -> None:
        messages = [sent(admin, tenant) for _ in range(4)]
        append(bounce_box, *(dsn(m["id"]) for m in messages))
        for msg in messages:
            bounced(admin, tenant, msg["id"])

    def test_processed_bounce_deleted_from_imap_mailbox(
        self, admin: ApiClient, tenant: TenantHandle, bounce_box: Dovecot
    ) -> None:
        msg = sent(admin, tenant)
        before = mailbox_size(bounce_box)
        append(bounce_box, dsn(msg["id"]))
        bounced(admin, tenant, msg["id"])
        eventually(lambda: mailbox_size(bounce_box) == before, what="bounce expunged")


class TestRetentionWithBounces:
    def test_bounced_but_unreported_messages_preserved(
        self, admin: ApiClient, tenant: TenantHandle, bounce_box: Dovecot
    ) -> None:
        # No client_base_url: the bounce event stays unacknowledged.
        msg = sent(admin, tenant)
        append(bounce_box, dsn(msg["id"]))
        bounced(admin, tenant, msg["id"])
        body = admin.ok(
            "POST", "/commands/cleanup-messages", params={"tenant_id": tenant.id}, json={"older_than_seconds": 0}
        )
        assert body["removed"] == 0
        assert admin.message(tenant.id, msg["id"])["status"] == "bounced"
