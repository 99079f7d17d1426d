"""MIME building (docs/api.md §5.3): headers, envelope, encodings that decode to the exact text."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

from chalicelib.domain.mime import AttachmentData, attachment_type, build_mime, clean_filename, envelope

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def roundtrip(message: dict, attachments: list[AttachmentData] | None = None):
    data = build_mime(message, attachments or [], NOW).as_bytes()
    return data, message_from_bytes(data, policy=policy.default)


def base(**over: object) -> dict:
    msg = {"id": "m-1", "from": "Sender <s@example.com>", "to": "a@example.com", "subject": "Hi", "body": "Body"}
    msg.update(over)
    return msg


def test_tracking_header_is_exactly_one_and_overrides_the_client() -> None:
    _, email = roundtrip(base(headers={"x-genro-mail-id": "fake", "X-Other": "1"}))
    assert email.get_all("X-Genro-Mail-ID") == ["m-1"]
    assert email["X-Other"] == "1"


def test_bcc_never_appears_but_is_in_the_envelope_deduplicated() -> None:
    message = base(to=["a@example.com", "B <b@example.com>"], cc="b@example.com", bcc=["h@example.com"])
    data, email = roundtrip(message)
    assert b"h@example.com" not in data and "Bcc" not in email
    env = envelope(message, None)
    assert env.recipients == ["a@example.com", "b@example.com", "h@example.com"]
    assert env.sender == "s@example.com"


def test_envelope_sender_prefers_return_path_then_bounce_address() -> None:
    assert envelope(base(return_path="rp@example.com"), "bounce@example.com").sender == "rp@example.com"
    assert envelope(base(), "bounce@example.com").sender == "bounce@example.com"


def test_date_is_added_unless_the_client_sets_one() -> None:
    _, email = roundtrip(base())
    assert email["Date"] == "Fri, 02 Jan 2026 03:04:05 +0000"
    _, email = roundtrip(base(headers={"Date": "Mon, 01 Jan 2024 00:00:00 +0000"}))
    assert email.get_all("Date") == ["Mon, 01 Jan 2024 00:00:00 +0000"]


def test_unicode_subject_body_and_names_decode_to_the_exact_text() -> None:
    text = "Emoji 🎉 — 中文 العربية Кириллица"
    data, email = roundtrip(base(subject=text, body=text, **{"from": "Zoë Ünïcode <z@example.com>"}))
    assert data.isascii(), "8-bit free on the wire"
    assert email["Subject"] == text
    assert email.get_content().rstrip("\r\n") == text
    assert email["From"].addresses[0].display_name == "Zoë Ünïcode"
    assert "Emoji" in data.decode(), "SHOULD encode only the non-ASCII words"


def test_html_body_and_attachments_make_multipart_mixed_with_body_first() -> None:
    att = AttachmentData("résumé.pdf", b"%PDF-1.4", "application/pdf")
    _, email = roundtrip(base(body="<b>x</b>", content_type="html"), [att])
    assert email.get_content_type() == "multipart/mixed"
    parts = list(email.iter_parts())
    assert parts[0].get_content_type() == "text/html"
    assert parts[1].get_filename() == "résumé.pdf"
    assert parts[1].get_content() == b"%PDF-1.4"


def test_unknown_content_type_is_plain() -> None:
    _, email = roundtrip(base(content_type="markdown"))
    assert email.get_content_type() == "text/plain"


def test_filenames_lose_md5_markers_and_directories() -> None:
    assert clean_filename("{MD5:abcdef}report.pdf") == "report.pdf"
    assert clean_filename("C:\\docs\\a.txt") == "a.txt"
    assert clean_filename("../../etc/passwd") == "passwd"


def test_attachment_type_uses_declared_then_guess_then_octet_stream() -> None:
    assert attachment_type("a.bin", "text/csv") == "text/csv"
    assert attachment_type("a.pdf", "pdf") == "application/pdf"
    assert attachment_type("noext", None) == "application/octet-stream"
