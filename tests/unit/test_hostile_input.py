"""Hostile client input: refused with 422 naming the field, never stored, never a 5xx; and
whatever a submission accepts builds into MIME (checked by building it)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain import json_input, schemas
from chalicelib.domain.messages import LINE_BREAKS, headers_invalid, precheck
from chalicelib.domain.mime import build_mime, envelope
from chalicelib.errors import RequestValidationError

pytestmark = pytest.mark.unit


def refused(raw: bytes) -> list[dict]:
    with pytest.raises(RequestValidationError) as failure:
        json_input.parse_body(raw)
    return list(failure.value.detail)


@pytest.mark.parametrize(
    ("raw", "loc"),
    [
        (b'{"name": "a\\u0000b"}', ["body", "name"]),
        (b'{"messages": [{"subject": "\\ud800"}]}', ["body", "messages", 0, "subject"]),
        (b'{"extra\\u0000": 1}', ["body"]),
        (b'{"max_size_mb": Infinity}', ["body"]),
        (b'{"max_size_mb": NaN}', ["body"]),
        (b"[" * 100_000 + b"]" * 100_000, ["body"]),
    ],
)
def test_unstorable_json_is_refused_naming_where(raw: bytes, loc: list) -> None:
    assert refused(raw)[0]["loc"][: len(loc)] == loc


def test_nesting_is_bounded_well_before_the_interpreters_limit() -> None:
    deep = ("[" * 40 + "1" + "]" * 40).encode()
    assert refused(deep)[0]["msg"] == "JSON nested too deeply"


_JSON = st.recursive(
    st.none() | st.integers() | st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from("\x00\ud800")),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=40,
)


def _nest(value: object, levels: int) -> object:
    for _ in range(levels):
        value = [value]
    return value


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_JSON, st.integers(min_value=0, max_value=34), st.booleans())
def test_the_clean_body_shortcut_refuses_what_the_full_walk_refuses(value: object, levels: int, ascii_: bool) -> None:
    raw = json.dumps(_nest(value, levels), ensure_ascii=ascii_).encode("utf-8", "surrogatepass")
    try:
        json_input.check_tree(json.loads(raw), ["body"])
    except RequestValidationError as expected:
        assert refused(raw) == list(expected.detail)
    else:
        assert json_input.parse_body(raw) == json.loads(raw)


def test_query_and_path_parameters_are_checked_too() -> None:
    with pytest.raises(RequestValidationError) as failure:
        json_input.check_params("query", {"tenant_id": "a\x00"})
    assert failure.value.detail[0]["loc"] == ["query", "tenant_id"]
    json_input.check_params("path", {"tenant_id": "ok \u00e9\U0001f600"})


@pytest.mark.parametrize(
    ("schema", "body", "loc"),
    [
        (schemas.TENANT_CREATE, {"id": "t", "retention_days": 2**31}, ["body", "retention_days"]),
        (
            schemas.ACCOUNT,
            {"id": "a", "tenant_id": "t", "host": "h", "port": 25, "batch_size": 10**30},
            ["body", "batch_size"],
        ),
        (schemas.ACCOUNT, {"id": "a", "tenant_id": "t", "host": "h", "port": 25, "ttl": 2**40}, ["body", "ttl"]),
        (
            schemas.ADD_MESSAGES,
            {
                "messages": [
                    {
                        "id": "m",
                        "tenant_id": "t",
                        "account_id": "a",
                        "from": "f@example.com",
                        "to": "t@example.com",
                        "subject": "s",
                        "deferred_ts": 2**63,
                    }
                ]
            },
            ["body", "messages", 0, "deferred_ts"],
        ),
        (
            schemas.ADD_MESSAGES,
            {
                "messages": [
                    {
                        "id": "m",
                        "tenant_id": "t",
                        "account_id": "a",
                        "from": "f@example.com",
                        "to": "t@example.com",
                        "subject": "s",
                        "deferred_ts": 1.0,
                    }
                ]
            },
            ["body", "messages", 0, "deferred_ts"],
        ),
        (
            schemas.ADD_MESSAGES,
            {
                "messages": [
                    {
                        "id": "m",
                        "tenant_id": ["t"],
                        "account_id": "a",
                        "from": "f@example.com",
                        "to": "t@example.com",
                        "subject": "s",
                    }
                ]
            },
            ["body", "messages", 0, "tenant_id"],
        ),
        (schemas.API_KEY, {"expires_at": 2**63}, ["body", "expires_at"]),
        (schemas.INSTANCE_UPDATE, {"bounce_poll_interval": 2**31}, ["body", "bounce_poll_interval"]),
    ],
)
def test_numbers_beyond_their_columns_and_wrong_types_are_422_naming_the_field(
    schema: dict, body: dict, loc: list
) -> None:
    errors = schemas.schema_errors(schema, body)
    assert [e["loc"] for e in errors] == [loc], errors


def test_command_log_limit_is_bounded() -> None:
    with pytest.raises(RequestValidationError):
        schemas.parse_int("limit", "1" + "0" * 30, 0, schemas.MAX_LIST_LIMIT)


@pytest.mark.parametrize(
    "secret",
    [
        {"client_auth": {"method": "bearer", "token": "tok-SECRET-1", "bogus": 1}},
        {"client_auth": {"method": "bearer", "token": 12345678}},
        {"client_auth": "bearer tok-SECRET-1"},
        {"large_file_config": {"storage_secret_access_key": "tok-SECRET-1", "action": "nope"}},
    ],
)
def test_validation_errors_never_echo_submitted_values(secret: dict) -> None:
    errors = schemas.schema_errors(schemas.TENANT_CREATE, {"id": "t", **secret})
    assert errors and "SECRET" not in json.dumps(errors) and "12345678" not in json.dumps(errors)


def test_attachment_auth_secrets_are_not_echoed_either() -> None:
    message = {
        "id": "m",
        "tenant_id": "t",
        "account_id": "a",
        "from": "f@example.com",
        "to": "t@example.com",
        "subject": "s",
        "attachments": [
            {"filename": "a", "storage_path": "p", "auth": {"method": "basic", "password": ["hunter2-SECRET"]}}
        ],
    }
    errors = schemas.schema_errors(schemas.ADD_MESSAGES, {"messages": [message]})
    assert errors and "SECRET" not in json.dumps(errors)


@pytest.mark.parametrize("brk", sorted(LINE_BREAKS))
@pytest.mark.parametrize("field", ["id", "subject", "from", "to", "cc", "bcc", "reply_to", "message_id"])
def test_every_line_break_in_a_header_bound_field_is_an_invalid_header(field: str, brk: str) -> None:
    assert headers_invalid({field: f"a{brk}b"})


@pytest.mark.parametrize(
    "message",
    [
        {"headers": {"X-Trail\n": "v"}},
        {"headers": {"X-Ok": "v\u2028w"}},
        {"attachments": [{"filename": "a\r\nb.txt", "storage_path": "p"}]},
        {"attachments": [{"filename": "a.txt", "storage_path": "p", "mime_type": "text/plain\nX: y"}]},
    ],
)
def test_header_names_with_a_final_newline_and_attachment_headers_are_checked(message: dict) -> None:
    assert headers_invalid(message)


def test_a_custom_bcc_header_is_never_transmitted() -> None:
    message = {
        "id": "m",
        "from": "s@example.com",
        "to": "a@example.com",
        "subject": "s",
        "headers": {"Bcc": "hidden@example.com", "bcc": "other@example.com"},
    }
    data = build_mime(message, [], datetime(2026, 1, 1, tzinfo=UTC)).as_bytes()
    assert b"hidden@example.com" not in data and b"other@example.com" not in data


hostile = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    subject=hostile,
    sender=hostile,
    to=hostile,
    header_name=hostile,
    header_value=hostile,
    message_id=hostile,
    reply_to=hostile,
)
def test_whatever_passes_submission_builds_into_mime(
    subject: str, sender: str, to: str, header_name: str, header_value: str, message_id: str, reply_to: str
) -> None:
    message = {
        "id": "m-1",
        "tenant_id": "t",
        "account_id": "a",
        "from": sender or "s@example.com",
        "to": to or "a@example.com",
        "subject": subject or "s",
        "reply_to": reply_to or None,
        "message_id": message_id or None,
        "headers": {header_name or "X-H": header_value},
    }
    (candidate,) = precheck([message], None)
    if candidate.rejection is not None:
        return
    build_mime(candidate.message, [], datetime(2026, 1, 1, tzinfo=UTC)).as_bytes()
    envelope(candidate.message, None)
