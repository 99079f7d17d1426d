"""The submit check's shortcut for plain unstructured headers never accepts what would not build.

headers_build skips the email package for a Subject of plain ASCII text; these tests hold the
shortcut to the full build it replaces, over generated text made of the characters that
matter to the header parser (encoded-word markers, folding whitespace, specials, long words).
"""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain import mime
from chalicelib.domain.messages import precheck

_TRICKY = st.sampled_from(["=?", "?=", "=?utf-8?q?", "?Q?", "_", "\t", " ", "  ", "(", ")", "\\", '"', "<", ">"])
_TEXT = st.lists(
    st.one_of(st.text(alphabet=string.printable, max_size=120), _TRICKY, st.text(max_size=5)), max_size=30
).map("".join)


def _full_build(name: str, value: str) -> bool:
    return bool(mime._header_builds.__wrapped__(name, value))  # type: ignore[attr-defined]


@settings(max_examples=3000, deadline=None)
@given(_TEXT)
def test_a_plain_subject_always_builds(value: str) -> None:
    if mime.plain_unstructured("Subject", value):
        assert _full_build("Subject", value)


def test_an_encoded_word_marker_or_a_non_ascii_subject_takes_the_full_build() -> None:
    assert not mime.plain_unstructured("Subject", "=?utf-8?q?=ED=A0=80?= hi")
    assert not mime.plain_unstructured("Subject", "caf\u00e9")
    assert not mime.plain_unstructured("Subject", "nul\x00")
    assert mime.plain_unstructured("Subject", "Your order 1234 has shipped\t(today)")


def test_structured_headers_never_take_the_shortcut() -> None:
    assert not mime.plain_unstructured("From", "a@example.com")
    assert not mime.plain_unstructured("Message-ID", "<x@y>")


def test_a_subject_the_email_package_cannot_serialise_is_still_refused() -> None:
    message = {
        "id": "m1",
        "tenant_id": "t",
        "account_id": "a",
        "from": "a@example.com",
        "to": ["b@example.com"],
        # An encoded word whose byte is not UTF-8, folded for its length: the fold fails.
        "subject": "=?utf-8?q?=F3?= " + "w" * 80,
    }
    assert not _full_build("Subject", message["subject"])
    assert precheck([message], None)[0].rejection == "invalid headers"
