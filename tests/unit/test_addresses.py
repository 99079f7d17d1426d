"""One address check for every field that holds one (domain/addresses.py), at the door: a
malformed address is a 422 naming the field, with the reason."""

from __future__ import annotations

import pytest

from chalicelib.domain import schemas
from chalicelib.domain.addresses import mailbox_list_problem, mailbox_problem
from chalicelib.domain.suppression import valid

GOOD = [
    "user@example.com",
    "Name <user@example.com>",
    '"Doe, John" <john@example.com>',
    "success@simulator.mailproxy.invalid",
    "rcpt@dest.acc.test",
    "ops@localhost",
    "ops@[127.0.0.1]",
    "ü@exämple.de",
    "first.last+tag@sub.example.co.uk",
]
BAD = [
    "two@@dest.acc.test",
    "no-at-sign",
    "@example.com",
    "user@",
    "user@exa mple.com",
    "a..b@example.com",
    "user@-example.com",
    "Name <>",
    "<two@@x.com>",
    "user@example.com>",
    "x" * 310 + "@example.com",
]


@pytest.mark.parametrize("address", GOOD)
def test_a_sendable_address_passes_every_field(address: str) -> None:
    assert mailbox_problem(address) is None
    assert mailbox_list_problem(address) is None
    assert valid(address)


@pytest.mark.parametrize("address", BAD)
def test_a_malformed_address_fails_every_field(address: str) -> None:
    assert mailbox_problem(address) is not None
    assert mailbox_list_problem(address) is not None
    assert not valid(address)


def test_a_list_fails_when_any_of_its_addresses_does() -> None:
    assert mailbox_list_problem("a@example.com, b@example.com") is None
    assert mailbox_list_problem("a@example.com, two@@example.com") is not None


def _message(**over: object) -> dict:
    return {
        "id": "m",
        "tenant_id": "t",
        "account_id": "a",
        "from": "f@example.com",
        "to": "t@example.com",
        "subject": "s",
        **over,
    }


@pytest.mark.parametrize(
    ("field", "value", "loc"),
    [
        ("to", "two@@dest.acc.test", ["to"]),
        ("to", ["ok@example.com", "two@@dest.acc.test"], ["to", 1]),
        ("cc", "ok@example.com, bad@", ["cc"]),
        ("bcc", ["@nobody"], ["bcc", 0]),
        ("from", "Sender <two@@example.com>", ["from"]),
        ("reply_to", "no-at-sign", ["reply_to"]),
        ("return_path", "bounces@@example.com", ["return_path"]),
    ],
)
def test_every_message_address_field_is_checked_with_the_same_shape(field: str, value: object, loc: list) -> None:
    errors = schemas.schema_errors(schemas.ADD_MESSAGES, {"messages": [_message(**{field: value})]})
    assert [e["loc"] for e in errors] == [["body", "messages", 0, *loc]]
    assert errors[0]["type"] == "value_error.email"
    assert errors[0]["msg"].startswith("Input should be a valid email address: ")


def test_v1_per_message_reasons_keep_empty_and_line_broken_addresses() -> None:
    # "missing to" and "invalid headers" (docs/api.md §4.3) are decided per message, not by a 422.
    for over in ({"to": ""}, {"to": []}, {"from": ""}, {"to": "a@example.com\r\nBcc: x@example.com"}):
        assert schemas.schema_errors(schemas.ADD_MESSAGES, {"messages": [_message(**over)]}) == []


def test_suppressions_mailto_and_bounce_path_use_the_same_check() -> None:
    errors = schemas.schema_errors(
        schemas.SUPPRESSIONS_ADD, {"tenant_id": "t", "addresses": ["ok@dest.acc.test", "two@@dest.acc.test"]}
    )
    assert [e["loc"] for e in errors] == [["body", "addresses", 1]]
    assert errors[0]["type"] == "value_error.email"
    tenant = schemas.schema_errors(schemas.TENANT_CREATE, {"id": "t", "unsubscribe": {"mailto": "u@@x.com"}})
    assert [e["loc"] for e in tenant] == [["body", "unsubscribe", "mailto"]]
    instance = schemas.schema_errors(schemas.INSTANCE_UPDATE, {"bounce_return_path": "b@@x.com"})
    assert [e["loc"] for e in instance] == [["body", "bounce_return_path"]]


def test_a_huge_integer_priority_is_accepted_to_be_clamped() -> None:
    from chalicelib.domain.messages import parse_priority

    assert schemas.schema_errors(schemas.ADD_MESSAGES, {"messages": [_message(priority=10**30)]}) == []
    assert parse_priority(10**30) == 3 and parse_priority(-(10**30)) == 0


@pytest.mark.parametrize("value", ["a\u00c0\u0080b", "a\x00b", "line\nbreak", "tab\there", "sep\u2028"])
def test_an_identifier_with_a_control_character_is_refused_by_name(value: str) -> None:
    errors = schemas.schema_errors(schemas.TENANT_CREATE, {"id": value})
    assert [e["loc"] for e in errors] == [["body", "id"]]
    msg = schemas.schema_errors(schemas.ADD_MESSAGES, {"messages": [_message(tenant_id=value)]})
    assert [e["loc"] for e in msg] == [["body", "messages", 0, "tenant_id"]]
