"""Bounce mails as mail servers write them: RFC 3464 reports and plain notices."""

from __future__ import annotations

import imaplib

from devstack.dovecot import Dovecot


def dsn(
    mail_id: str,
    recipient: str = "rcpt@example.com",
    status: str = "5.1.1",
    diagnostic: str = "smtp; 550 5.1.1 <rcpt@example.com>: Recipient address rejected: User unknown",
    action: str = "failed",
) -> bytes:
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
        "To: bounces@example.com\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"\r\n\r\n'
        "--BOUNDARY\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        "This is the mail system at host mx.example.com.\r\nI'm sorry to have to inform you that your "
        "message could not be delivered.\r\n\r\n"
        "--BOUNDARY\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.com\r\nArrival-Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nOriginal-Recipient: rfc822; {recipient}\r\n"
        f"Action: {action}\r\nStatus: {status}\r\nDiagnostic-Code: {diagnostic}\r\n\r\n"
        "--BOUNDARY\r\nContent-Type: message/rfc822\r\n\r\n"
        f"From: sender@example.com\r\nTo: {recipient}\r\nSubject: Hello\r\nX-Genro-Mail-ID: {mail_id}\r\n\r\n"
        "Original body\r\n--BOUNDARY--\r\n"
    ).encode()


def arf(
    mail_id: str, recipient: str | None = "rcpt@example.com", feedback_type: str = "abuse", headers_only: bool = False
) -> bytes:
    """An RFC 5965 feedback report, as a mailbox provider sends one for a spam complaint."""
    original = (
        f"From: sender@example.com\r\nTo: {recipient or 'rcpt@example.com'}\r\nSubject: Hello\r\n"
        f"X-Genro-Mail-ID: {mail_id}\r\n"
    )
    kind = "text/rfc822-headers" if headers_only else "message/rfc822"
    return (
        "From: Feedback Loop <fbl@provider.example>\r\nTo: bounces@example.com\r\n"
        "Subject: Complaint about message\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="ARF"\r\n\r\n'
        "--ARF\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        "This is an email abuse report for an email message received from IP 192.0.2.1.\r\n\r\n"
        "--ARF\r\nContent-Type: message/feedback-report\r\n\r\n"
        f"Feedback-Type: {feedback_type}\r\nUser-Agent: ProviderFBL/1.0\r\nVersion: 1\r\n"
        + (f"Original-Rcpt-To: {recipient}\r\n" if recipient else "")
        + "Arrival-Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\n"
        f"--ARF\r\nContent-Type: {kind}\r\n\r\n{original}\r\nOriginal body\r\n--ARF--\r\n"
    ).encode()


def plain(subject: str = "Lunch?") -> bytes:
    return f"From: friend@example.com\r\nTo: bounces@example.com\r\nSubject: {subject}\r\n\r\nHi!\r\n".encode()


def append(server: Dovecot, *mails: bytes, folder: str = "INBOX") -> None:
    imap = imaplib.IMAP4("127.0.0.1", server.port)
    try:
        imap.login(server.user, server.password)
        for mail in mails:
            imap.append(folder, None, None, mail)
    finally:
        imap.logout()


def recreate(server: Dovecot, folder: str) -> None:
    """Delete and create a folder again: the new one has a new UIDVALIDITY and UIDs from 1."""
    imap = imaplib.IMAP4("127.0.0.1", server.port)
    try:
        imap.login(server.user, server.password)
        imap.delete(folder)
        imap.create(folder)
    finally:
        imap.logout()


def mailbox_size(server: Dovecot) -> int:
    imap = imaplib.IMAP4("127.0.0.1", server.port)
    try:
        imap.login(server.user, server.password)
        status, data = imap.select("INBOX")
        return int(data[0]) if status == "OK" and data and data[0] else 0
    finally:
        imap.logout()
