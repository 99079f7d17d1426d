"""One-click unsubscribe tokens and headers (extension 7.3)."""

from __future__ import annotations

from chalicelib.domain import unsubscribe


def test_a_token_names_its_tenant_and_message_and_reads_back() -> None:
    token = unsubscribe.token(["k1"], "acme", "msg-42")
    assert unsubscribe.read(["k1"], token) == ("acme", "msg-42")
    assert "@" not in token and "/" not in token and "+" not in token


def test_a_token_made_under_another_key_or_altered_is_refused() -> None:
    token = unsubscribe.token(["k1"], "acme", "msg-42")
    assert unsubscribe.read(["other"], token) is None
    body, _, mac = token.partition(".")
    forged = unsubscribe.token(["guess"], "acme", "msg-43").partition(".")[0] + "." + mac
    assert unsubscribe.read(["k1"], forged) is None
    assert unsubscribe.read(["k1"], body) is None
    assert unsubscribe.read(["k1"], "not-a-token.at-all") is None
    assert unsubscribe.read(["k1"], "%%%.$$$") is None


def test_a_token_survives_a_key_rotation() -> None:
    token = unsubscribe.token(["old"], "acme", "m")
    assert unsubscribe.read(["new", "old"], token) == ("acme", "m")


def test_it_is_on_by_the_messages_flag_else_the_tenants_and_never_over_the_messages_own_header() -> None:
    on = {"enabled": True}
    assert unsubscribe.wanted({}, on) and not unsubscribe.wanted({}, None)
    assert not unsubscribe.wanted({"unsubscribe": False}, on)
    assert unsubscribe.wanted({"unsubscribe": True}, {"enabled": False})
    assert not unsubscribe.wanted({"headers": {"list-unsubscribe": "<mailto:x@example.com>"}}, on)


def test_the_headers_carry_the_link_and_the_mailto_and_the_one_click_marker() -> None:
    headers = unsubscribe.headers("https://mp.example.com/api/", "TOKEN", "unsub@example.com")
    assert headers == {
        "List-Unsubscribe": "<https://mp.example.com/api/unsubscribe/TOKEN>, "
        "<mailto:unsub@example.com?subject=unsubscribe-TOKEN>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
