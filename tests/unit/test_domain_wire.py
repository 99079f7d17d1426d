"""The direct byte builder writes exactly what the email package writes."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain.mime import AttachmentData, build_mime
from chalicelib.domain.wire import message_bytes

NOW = datetime(2026, 11, 27, 18, 0, 5, tzinfo=UTC)

words = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=12)
ascii_text = st.lists(words, min_size=0, max_size=20).map(" ".join)
any_text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=120)
subjects = st.one_of(
    ascii_text,
    any_text,
    st.sampled_from(["Grüße aus Köln", "=?utf-8?q?hi?=", "a  b", " lead", "x" * 200, "日本語の件名です"]),
)
bodies = st.one_of(
    st.lists(ascii_text, max_size=15).map("\n".join),
    st.lists(any_text, max_size=15).map("\n".join),
    st.sampled_from(
        ["", "x" * 500, "line\r\nline\rline\n", "Lorem ipsum dolor sit amet. " * 20, "àèìòù " * 40, "<p>Ciao</p>"]
    ),
)
addresses = st.sampled_from(
    [
        "a@example.com",
        "Bench <bench@example.com>",
        '"Doe, John" <j@example.com>',
        "Jörg <jorg@example.com>",
        "x@xn--bcher-kva.example",
    ]
)


@st.composite
def messages(draw: Any) -> dict[str, Any]:
    msg: dict[str, Any] = {
        "id": draw(st.from_regex(r"[A-Za-z0-9._-]{1,40}", fullmatch=True)),
        "from": draw(addresses),
        "to": draw(st.lists(addresses, min_size=1, max_size=3)),
        "subject": draw(subjects),
        "body": draw(bodies),
    }
    if draw(st.booleans()):
        msg["cc"] = draw(st.lists(addresses, min_size=1, max_size=2))
    if draw(st.booleans()):
        msg["content_type"] = "html"
    if draw(st.booleans()):
        msg["reply_to"] = draw(addresses)
    if draw(st.booleans()):
        msg["message_id"] = "<" + draw(st.from_regex(r"[a-z0-9.]{1,20}", fullmatch=True)) + "@example.com>"
    if draw(st.booleans()):
        msg["headers"] = draw(
            st.dictionaries(
                st.sampled_from(["X-Campaign", "X-Priority", "Date", "List-Id", "X-Long", "Content-Type"]),
                st.one_of(ascii_text.filter(bool), any_text.filter(lambda s: s.strip() != "")),
                max_size=3,
            )
        )
    return msg


def _stdlib(msg: dict[str, Any], attachments: list[AttachmentData] | None = None) -> bytes | None:
    try:
        return build_mime(msg, attachments or [], NOW).as_bytes()
    except Exception:
        return None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages())
def test_the_direct_bytes_are_the_email_packages_bytes(msg: dict[str, Any]) -> None:
    expected = _stdlib(msg)
    if expected is None:
        return
    assert message_bytes(msg, [], NOW) == expected


def test_the_cases_the_contract_names_are_byte_identical() -> None:
    base = {"id": "m-1", "from": "Shop <shop@example.com>", "to": ["a@example.com"], "subject": "Hi"}
    cases = [
        {**base, "subject": "Grüße — ünïcödé ✓", "body": "ciao"},
        {**base, "subject": "A long subject " * 12, "body": "folded"},
        {**base, "bcc": ["hidden@example.com"], "headers": {"Bcc": "x@example.com"}, "body": "no bcc"},
        {**base, "headers": {"X-Genro-Mail-ID": "forged"}, "body": "tracking header is ours"},
        {**base, "content_type": "html", "body": "<p>" + "è" * 300 + "</p>"},
        {**base, "body": "x" * 1000},
    ]
    for msg in cases:
        assert message_bytes(msg, [], NOW) == _stdlib(msg), msg["subject"]
    data = message_bytes(cases[2], [], NOW)
    assert b"Bcc" not in data and b"X-Genro-Mail-ID: m-1\r\n" in data


def test_attachments_take_the_email_packages_path() -> None:
    msg = {"id": "m", "from": "a@example.com", "to": ["b@example.com"], "subject": "s", "body": "b"}
    att = [AttachmentData("r.pdf", b"%PDF", "application/pdf")]
    boundary = re.compile(rb"=+\d+==")  # random per message
    expected = _stdlib(msg, att)
    assert expected is not None
    assert boundary.sub(b"B", message_bytes(msg, att, NOW)) == boundary.sub(b"B", expected)
