"""Bounce parsing (docs/api.md §5.11): RFC 3464 reports and plain-text notices."""

from __future__ import annotations

from chalicelib.domain.bounces import parse


def dsn(
    status: str = "5.1.1",
    action: str = "failed",
    diagnostic: str = "smtp; 550 5.1.1 User unknown",
    original: str = "X-Genro-Mail-ID: msg-42\r\nSubject: Hi\r\n",
    kind: str = "message/rfc822",
) -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example.com\r\nTo: bounces@example.com\r\nSubject: Undelivered Mail\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.com\r\n\r\n"
        "Final-Recipient: rfc822; gone@example.com\r\n"
        f"Action: {action}\r\nStatus: {status}\r\nDiagnostic-Code: {diagnostic}\r\n\r\n"
        f"--B\r\nContent-Type: {kind}\r\n\r\n{original}\r\nBody\r\n--B--\r\n"
    ).encode()


def test_hard_bounce_from_an_rfc3464_report() -> None:
    bounce = parse(dsn())
    assert bounce is not None
    assert (bounce.mail_id, bounce.bounce_type, bounce.bounce_code) == ("msg-42", "hard", "511")
    assert bounce.bounce_reason == "550 5.1.1 User unknown"
    assert bounce.recipient == "gone@example.com"


def test_soft_bounce_by_status_class_and_by_action() -> None:
    assert parse(dsn(status="4.2.2", diagnostic="smtp; 452 4.2.2 Mailbox full")).bounce_type == "soft"
    assert parse(dsn(action="delayed", status="5.0.0")).bounce_type == "soft"


def test_code_falls_back_to_the_diagnostic_number() -> None:
    bounce = parse(dsn(status="", diagnostic="smtp; 554 rejected"))
    assert (bounce.bounce_code, bounce.bounce_type) == ("554", "hard")


def test_headers_only_original_is_read_too() -> None:
    bounce = parse(dsn(kind="text/rfc822-headers", original="x-genro-mail-id: msg-7\r\nFrom: a@b"))
    assert bounce.mail_id == "msg-7"


def test_plain_text_notice_from_mailer_daemon() -> None:
    raw = (
        b"From: Mail Delivery System <MAILER-DAEMON@example.com>\r\nSubject: failure notice\r\n\r\n"
        b"Sorry, we were unable to deliver your message.\r\n\r\n451 temporary problem\r\n"
        b"X-Genro-Mail-ID: msg-99\r\n"
    )
    bounce = parse(raw)
    assert (bounce.mail_id, bounce.bounce_code, bounce.bounce_type) == ("msg-99", "451", "soft")
    assert bounce.bounce_reason.startswith("Sorry, we were unable")


def test_ordinary_mail_is_not_a_bounce() -> None:
    assert parse(b"From: friend@example.com\r\nSubject: Lunch?\r\n\r\nAt noon?\r\n") is None
