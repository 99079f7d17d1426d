"""Feedback reports (RFC 5965) recognised and read (extension 7.2)."""

from __future__ import annotations

from chalicelib.domain.feedback import parse_complaint
from tests.support.bounce_mail import arf, dsn, plain


def test_a_feedback_report_names_the_message_the_recipient_and_the_type() -> None:
    complaint = parse_complaint(arf("msg-1", "Reader@Example.com", "abuse"))
    assert complaint is not None
    assert (complaint.mail_id, complaint.recipient, complaint.feedback_type, complaint.user_agent) == (
        "msg-1",
        "Reader@Example.com",
        "abuse",
        "ProviderFBL/1.0",
    )


def test_a_headers_only_original_and_a_report_without_recipient_are_read_too() -> None:
    complaint = parse_complaint(arf("msg-2", None, "fraud", headers_only=True))
    assert complaint is not None and (complaint.mail_id, complaint.recipient) == ("msg-2", None)


def test_a_dsn_or_a_plain_mail_is_no_complaint_and_a_report_no_bounce() -> None:
    assert parse_complaint(dsn("msg-3")) is None
    assert parse_complaint(plain()) is None
    assert parse_complaint(b"\x00\xff garbage") is None
