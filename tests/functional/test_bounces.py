"""Bounce polling against a real Dovecot: recognition, matching, deletion, UID state."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib.services import admin, bounces
from chalicelib.services.ports import Ports
from devstack.dovecot import Dovecot
from tests.support.bounce_mail import append, arf, dsn, mailbox_size, plain, recreate
from tests.support.runs import dispatch_tenant
from tests.support.world import ADMIN, World


@pytest.fixture
def mailbox(ports: Ports, dovecot: Dovecot) -> Iterator[Dovecot]:
    admin.update_instance(
        ports,
        ADMIN,
        {
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
    yield dovecot
    admin.update_instance(ports, ADMIN, {"bounce_enabled": False})


def test_dsn_bounces_the_sent_message_and_is_deleted(world: World, mailbox: Dovecot) -> None:
    msg = world.send_one()  # submitted and dispatched
    before = mailbox_size(mailbox)
    append(mailbox, dsn(msg["id"]), plain())
    result = bounces.poll(world.ports, force=True)
    assert result["polled"] and result["bounces"] == 1
    row = world.row(msg["id"])
    assert (row["status"], row["bounce_type"], row["bounce_code"]) == ("bounced", "hard", "511")
    assert "User unknown" in row["bounce_reason"]
    assert [e["event_type"] for e in world.events(msg["id"])] == ["sent", "bounce"]
    assert mailbox_size(mailbox) == before + 1, "the bounce is deleted, the other mail left"
    # The next poll reads nothing again: the bounce keeps its time.
    first_ts = row["bounce_ts"]
    assert bounces.poll(world.ports, force=True)["bounces"] == 0
    assert world.row(msg["id"])["bounce_ts"] == first_ts


def test_soft_bounce_is_classified_soft(world: World, mailbox: Dovecot) -> None:
    msg = world.send_one()  # submitted and dispatched
    append(mailbox, dsn(msg["id"], status="4.2.2", diagnostic="smtp; 452 4.2.2 Mailbox full"))
    bounces.poll(world.ports, force=True)
    row = world.row(msg["id"])
    assert (row["bounce_type"], row["bounce_code"]) == ("soft", "422")


def test_poll_is_not_repeated_before_its_interval(world: World, mailbox: Dovecot) -> None:
    admin.update_instance(world.ports, ADMIN, {"bounce_poll_interval": 3600})
    bounces.poll(world.ports, force=True)
    assert bounces.poll(world.ports)["polled"] is False, "not due yet"


def test_a_recreated_mailbox_is_read_from_its_first_mail_even_when_empty_at_first(
    world: World, mailbox: Dovecot
) -> None:
    admin.update_instance(world.ports, ADMIN, {"bounce_imap_folder": "Bounces"})
    recreate(mailbox, "Bounces")
    first, second = world.message(), world.message()
    world.submit(first, second)
    dispatch_tenant(world.ports, world.tenant_id)
    append(mailbox, plain(), plain(), dsn(first["id"]), folder="Bounces")
    assert bounces.poll(world.ports, force=True)["bounces"] == 1  # UIDs 1..3 read
    recreate(mailbox, "Bounces")  # new UIDVALIDITY, empty
    assert bounces.poll(world.ports, force=True)["bounces"] == 0
    append(mailbox, dsn(second["id"]), folder="Bounces")  # UID 1 of the new mailbox
    assert bounces.poll(world.ports, force=True)["bounces"] == 1
    assert world.row(second["id"])["status"] == "bounced"


def test_a_hard_bounce_suppresses_the_bounced_recipient_for_the_next_message(world: World, mailbox: Dovecot) -> None:
    good, gone = "good@example.com", "gone@example.com"
    msg = world.send_one(to=[gone])  # submitted and dispatched
    append(mailbox, dsn(msg["id"], recipient=gone, status="5.1.1"))
    assert bounces.poll(world.ports, force=True)["bounces"] == 1
    [entry] = world.ports.suppressions.page(world.tenant_id, None, 10, None)
    assert (entry["address"], entry["reason"], entry["message_id"]) == (gone, "hard_bounce", msg["id"])
    mixed, alone = world.message(to=[good, gone]), world.message(to=[gone])
    world.submit(mixed, alone)
    dispatch_tenant(world.ports, world.tenant_id)
    assert [r.recipients for r in world.sink.by_id(mixed["id"])] == [[good]]
    assert world.row(alone["id"])["error"] == "all recipients suppressed"
    assert world.sink.by_id(alone["id"]) == []


def test_a_soft_bounce_suppresses_nothing(world: World, mailbox: Dovecot) -> None:
    msg = world.send_one()  # submitted and dispatched
    append(mailbox, dsn(msg["id"], status="4.2.2", diagnostic="smtp; 452 4.2.2 Mailbox full"))
    bounces.poll(world.ports, force=True)
    assert world.ports.suppressions.page(world.tenant_id, None, 10, None) == []


def test_a_complaint_is_recorded_suppressed_and_deleted_without_changing_the_status(
    world: World, mailbox: Dovecot
) -> None:
    reader = "reader@example.com"
    msg = world.send_one(to=[reader])  # submitted and dispatched
    before = mailbox_size(mailbox)
    append(mailbox, arf(msg["id"], reader, "abuse"))
    result = bounces.poll(world.ports, force=True)
    assert result["complaints"] == 1 and result["bounces"] == 0
    row = world.row(msg["id"])
    assert row["status"] == "sent" and row["complaint_ts"] is not None
    [_sent, complaint] = world.events(msg["id"])
    assert complaint["event_type"] == "complaint"
    assert complaint["metadata"] == {"feedback_type": "abuse", "user_agent": "ProviderFBL/1.0"}
    [entry] = world.ports.suppressions.page(world.tenant_id, None, 10, None)
    assert (entry["address"], entry["reason"]) == (reader, "complaint")
    assert mailbox_size(mailbox) == before, "the report is deleted"
    append(mailbox, arf(msg["id"], reader, "abuse"))
    bounces.poll(world.ports, force=True)
    assert [e["event_type"] for e in world.events(msg["id"])] == ["sent", "complaint"], "one complaint event"
