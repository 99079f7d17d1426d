"""Hostile input on every route, over HTTP through the stack: never a 5xx.

Hypothesis writes bodies, query strings and path ids out of hostile strings (NUL, lone
surrogates, every line break, RTL and emoji), numbers far beyond any column, floats, wrong
types and nesting, for each route's own fields and for extra ones. Every answer must be a
4xx naming what was wrong, or a success; nothing may be half-written. Values that would
make the stack connect somewhere (hosts, URLs) are kept to unresolvable or loopback ones:
tests send traffic to this machine only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devstack.stack import Stack
from tests.support.api import ApiClient
from tests.support.factories import account_payload
from tests.support.smtp import SmtpSink
from tests.support.tenants import TenantFactory

pytestmark = pytest.mark.integration

HOSTILE_TEXT = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "\x00",
            "a\x00b",
            "\ud800",
            "x\udfff",
            "\r\n",
            "a\u2028b",
            "\x0b",
            "\x1c",
            "\u0085",
            "\u202e",
            "\U0001f600",
            "' OR 1=1 --",
            "<script>",
            "../../etc/passwd",
            " ",
            "",
        ]
    ),
)
NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.sampled_from([0, -1, 2**31, 2**63, 10**30, 1.0, 1e308]),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, HOSTILE_TEXT)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(HOSTILE_TEXT, inner, max_size=3)),
    max_leaves=8,
)
# Where a value names a place to connect to: nothing resolvable but loopback.
PLACES = st.one_of(st.just("127.0.0.1"), st.sampled_from(["\x00", "a\nb", "\ud800", ""]), NUMBERS, st.none())


def body_of(fields: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    known = st.fixed_dictionaries({}, optional={f: PLACES if f in _PLACE_FIELDS else VALUES for f in fields})
    return st.builds(lambda k, extra: {**extra, **k}, known, st.dictionaries(HOSTILE_TEXT, VALUES, max_size=2))


_PLACE_FIELDS = {
    "host",
    "client_base_url",
    "imap_host",
    "bounce_imap_host",
    "storage_endpoint_url",
    "public_base_url",
    "storage_path",
}
MESSAGE_FIELDS = [
    "id",
    "tenant_id",
    "account_id",
    "from",
    "to",
    "cc",
    "bcc",
    "subject",
    "body",
    "headers",
    "message_id",
    "priority",
    "deferred_ts",
    "batch_code",
    "reply_to",
    "attachments",
]
TENANT_FIELDS = ["id", "name", "client_auth", "rate_limits", "active", "retention_days", "large_file_config"]
ACCOUNT_FIELDS = [
    "id",
    "tenant_id",
    "host",
    "port",
    "user",
    "password",
    "ttl",
    "limit_per_minute",
    "limit_per_hour",
    "limit_per_day",
    "limit_behavior",
    "use_tls",
    "batch_size",
]

# (method, path with {tenant}, body strategy or None, query names)
INSTANCE_FIELDS = [
    "name",
    "bounce_enabled",
    "bounce_imap_host",
    "bounce_imap_port",
    "bounce_imap_user",
    "bounce_imap_password",
    "bounce_imap_folder",
    "bounce_imap_ssl",
    "bounce_poll_interval",
    "bounce_return_path",
    "api_token",
]

ROUTES: list[tuple[str, str, st.SearchStrategy[Any] | None, list[str]]] = [
    ("GET", "/health", None, []),
    ("GET", "/metrics", None, []),
    ("GET", "/status", None, []),
    ("POST", "/commands/run-now", None, ["tenant_id"]),
    ("POST", "/commands/suspend", None, ["tenant_id", "batch_code"]),
    ("POST", "/commands/activate", None, ["tenant_id", "batch_code"]),
    (
        "POST",
        "/commands/add-messages",
        st.fixed_dictionaries(
            {"messages": st.lists(body_of(MESSAGE_FIELDS), max_size=3)}, optional={"default_priority": VALUES}
        ),
        [],
    ),
    ("POST", "/commands/delete-messages", body_of(["ids"]), ["tenant_id"]),
    ("POST", "/commands/cleanup-messages", body_of(["older_than_seconds"]), ["tenant_id"]),
    ("POST", "/account", body_of(ACCOUNT_FIELDS), []),
    ("GET", "/accounts", None, ["tenant_id"]),
    ("DELETE", "/account/{id}", None, ["tenant_id"]),
    ("GET", "/messages", None, ["tenant_id", "active_only", "include_history"]),
    ("POST", "/tenant", body_of(TENANT_FIELDS), []),
    ("GET", "/tenants", None, ["active_only"]),
    ("GET", "/tenant/{id}", None, []),
    ("PUT", "/tenant/{id}", body_of(TENANT_FIELDS[1:]), []),
    ("POST", "/tenant/{id}/api-key", body_of(["expires_at"]), []),
    ("DELETE", "/tenant/{id}/api-key", None, []),
    ("POST", "/tenant/{id}/signing-secret", None, []),
    ("DELETE", "/tenant/{id}", None, []),
    ("GET", "/tenants/sync-status", None, []),
    ("GET", "/instance", None, []),
    ("PUT", "/instance", body_of(INSTANCE_FIELDS), []),
    ("POST", "/instance/reload-bounce", None, []),
    ("GET", "/command-log", None, ["tenant_id", "since_ts", "until_ts", "endpoint_filter", "limit"]),
    ("GET", "/command-log/export", None, ["tenant_id", "since_ts", "until_ts"]),
]


@pytest.fixture
def tenants_restored(admin: ApiClient) -> Iterator[None]:
    """Whatever tenant a generated body managed to create is removed afterwards, and the
    bounce poll a generated instance update may have enabled is off again."""
    before = {t["id"] for t in admin.ok("GET", "/tenants")["tenants"]}
    yield
    for tenant in admin.ok("GET", "/tenants")["tenants"]:
        if tenant["id"] not in before:
            admin.delete(f"/tenant/{quote(tenant['id'], safe='')}")
    admin.ok("PUT", "/instance", json={"bounce_enabled": False})


def encode_query(query: dict[str, Any]) -> str:
    return "&".join(
        f"{quote(k, safe='', errors='surrogatepass')}={quote(str(v), safe='', errors='surrogatepass')}"
        for k, v in query.items()
    )


@pytest.mark.parametrize(("method", "path", "body", "query_names"), ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
def test_no_hostile_input_yields_a_server_error(
    stack: Stack,
    tenants_restored: None,
    method: str,
    path: str,
    body: st.SearchStrategy[Any] | None,
    query_names: list[str],
) -> None:
    session = requests.Session()
    session.headers["X-API-Token"] = stack.token

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        body=body if body is not None else st.none(),
        ident=HOSTILE_TEXT,
        query=st.fixed_dictionaries({}, optional={n: st.one_of(HOSTILE_TEXT, NUMBERS) for n in query_names}),
    )
    def one(body: Any, ident: str, query: dict[str, Any]) -> None:
        target = path.replace("{id}", quote(ident, safe="", errors="surrogatepass") or "x")
        url = f"{stack.api_url}{target}" + (f"?{encode_query(query)}" if query else "")
        data = json.dumps(body).encode() if body is not None else None
        answer = session.request(method, url, data=data, headers={"Content-Type": "application/json"}, timeout=30)
        assert answer.status_code < 500, (method, target, query, body, answer.status_code, answer.text[:300])
        if answer.status_code == 422:
            detail = answer.json()["detail"]
            assert detail and all("loc" in d and "msg" in d for d in detail), detail

    one()


def test_each_reported_input_is_a_422_naming_the_field(
    stack: Stack, admin: ApiClient, make_tenant: TenantFactory, sink: SmtpSink
) -> None:
    """The inputs that answered 500 before, one by one, through HTTP."""
    handle = make_tenant(sink)
    tenant, account = handle.id, handle.account_id

    def message(**over: Any) -> dict[str, Any]:
        return {"messages": [{**handle.message(), **over}]}

    raw = {"Content-Type": "application/json"}
    cases: list[tuple[str, str, Any, list[Any]]] = [
        ("PUT", f"/tenant/{tenant}", {"name": "a\u0000b"}, ["body", "name"]),
        ("PUT", f"/tenant/{tenant}", {"retention_days": 2**31}, ["body", "retention_days"]),
        ("POST", "/account", account_payload(tenant, 25, id=account, batch_size=10**30), ["body", "batch_size"]),
        ("POST", "/account", account_payload(tenant, 25, id=account, ttl=2**40), ["body", "ttl"]),
        ("POST", "/account", account_payload(tenant, 25, id=account, limit_per_hour=2**31), ["body", "limit_per_hour"]),
        ("POST", "/commands/add-messages", message(deferred_ts=2**63), ["body", "messages", 0, "deferred_ts"]),
        ("POST", "/commands/add-messages", message(deferred_ts=1.0), ["body", "messages", 0, "deferred_ts"]),
        ("POST", "/commands/add-messages", message(tenant_id=[tenant]), ["body", "messages", 0, "tenant_id"]),
        ("POST", "/commands/add-messages", message(tenant_id={"a": 1}), ["body", "messages", 0, "tenant_id"]),
        ("POST", "/commands/add-messages", message(subject="\ud800"), ["body", "messages", 0, "subject"]),
        ("POST", "/commands/add-messages", {**message(), "extra": "\u0000"}, ["body", "extra"]),
        ("POST", f"/tenant/{tenant}/api-key", {"expires_at": 2**63}, ["body", "expires_at"]),
        ("PUT", "/instance", {"bounce_poll_interval": 2**31}, ["body", "bounce_poll_interval"]),
        ("GET", "/command-log?limit=" + "1" + "0" * 30, None, ["query", "limit"]),
        ("GET", f"/messages?tenant_id={tenant}%00", None, ["query", "tenant_id"]),
        ("GET", "/tenant/a%00b", None, ["path", "tenant_id"]),
    ]
    for method, path, body, loc in cases:
        answer = admin.request(method, path, json=body)
        assert answer.status_code == 422, (method, path, answer.status_code, answer.text)
        assert answer.json()["detail"][0]["loc"][: len(loc)] == loc, (path, answer.text)
    nested = admin.request("POST", "/commands/add-messages", data=b"[" * 100_000 + b"]" * 100_000, headers=raw)
    infinite = admin.request(
        "PUT",
        f"/tenant/{tenant}",
        headers=raw,
        data=b'{"large_file_config": {"enabled": true, "max_size_mb": Infinity}}',
    )
    assert (nested.status_code, infinite.status_code) == (422, 422)
    # Nothing half-written: the message with the NUL extra key was neither stored nor queued.
    assert admin.ok("GET", f"/messages?tenant_id={tenant}")["messages"] == []


def test_schema_errors_come_before_the_tenant_scope(stack: Stack, make_tenant: TenantFactory, sink: SmtpSink) -> None:
    """Contract 1's order: token, schema (422), scope (403)."""
    a, b = make_tenant(sink), make_tenant(sink)
    assert a.client.request("PUT", f"/tenant/{b.id}", json={"active": "no"}).status_code == 422
    assert a.client.request("POST", f"/commands/delete-messages?tenant_id={b.id}", json={"ids": "x"}).status_code == 422
    assert (
        a.client.request(
            "POST", f"/commands/cleanup-messages?tenant_id={b.id}", json={"older_than_seconds": "x"}
        ).status_code
        == 422
    )
    assert a.client.request("PUT", f"/tenant/{b.id}", json={"active": False}).status_code == 403


def test_every_address_field_refuses_a_malformed_address_by_name(
    admin: ApiClient, make_tenant: TenantFactory, sink: SmtpSink
) -> None:
    """One address check, one 422 shape, on every route that takes an address; nothing of a
    refused request is stored."""
    handle = make_tenant(sink)

    def message(**over: Any) -> dict[str, Any]:
        return {"messages": [{**handle.message(), **over}]}

    bad = "two@@dest.acc.test"
    cases: list[tuple[str, str, Any, list[Any]]] = [
        (
            "POST",
            "/suppressions",
            {"tenant_id": handle.id, "addresses": ["ok@dest.acc.test", bad]},
            ["body", "addresses", 1],
        ),
        ("POST", "/commands/add-messages", message(to=["ok@dest.acc.test", bad]), ["body", "messages", 0, "to", 1]),
        ("POST", "/commands/add-messages", message(cc=bad), ["body", "messages", 0, "cc"]),
        ("POST", "/commands/add-messages", message(bcc=[bad]), ["body", "messages", 0, "bcc", 0]),
        ("POST", "/commands/add-messages", message(**{"from": f"Shop <{bad}>"}), ["body", "messages", 0, "from"]),
        ("POST", "/commands/add-messages", message(reply_to="user@exa mple.com"), ["body", "messages", 0, "reply_to"]),
        ("POST", "/commands/add-messages", message(return_path=bad), ["body", "messages", 0, "return_path"]),
        (
            "PUT",
            f"/tenant/{handle.id}",
            {"unsubscribe": {"enabled": True, "mailto": bad}},
            ["body", "unsubscribe", "mailto"],
        ),
        ("PUT", "/instance", {"bounce_return_path": bad}, ["body", "bounce_return_path"]),
        ("POST", "/tenant", {"id": "a\u00c0\u0080b"}, ["body", "id"]),
    ]
    for method, path, body, loc in cases:
        answer = admin.request(method, path, json=body)
        assert answer.status_code == 422, (method, path, answer.status_code, answer.text)
        detail = answer.json()["detail"]
        assert [d["loc"] for d in detail] == [loc], (path, detail)
    assert admin.ok("GET", "/suppressions", params={"tenant_id": handle.id})["suppressions"] == []
    assert admin.ok("GET", f"/messages?tenant_id={handle.id}")["messages"] == []
    assert admin.request("GET", "/tenant/a\u00c0\u0080b").status_code == 404


def test_an_integer_priority_of_any_size_is_clamped(
    admin: ApiClient, make_tenant: TenantFactory, sink: SmtpSink
) -> None:
    handle = make_tenant(sink)
    admin.ok("POST", "/commands/suspend", params={"tenant_id": handle.id})
    high, low = handle.message(priority=-(10**30)), handle.message(priority=10**30)
    assert admin.ok("POST", "/commands/add-messages", json={"messages": [high, low]})["queued"] == 2
    stored = {m["id"]: m["priority"] for m in admin.messages(handle.id)}
    assert stored == {high["id"]: 0, low["id"]: 3}


def test_an_account_on_a_refused_address_is_saved_with_a_warning_naming_the_variable(
    admin: ApiClient, make_tenant: TenantFactory, sink: SmtpSink
) -> None:
    handle = make_tenant(sink)
    answer = admin.ok("POST", "/account", json=account_payload(handle.id, 25, id="lan", host="10.20.30.40"))
    [warning] = answer["warnings"]
    assert "MAILPROXY_OUTBOUND_ALLOW" in warning and "10.20.30.40" in warning
    assert "warnings" not in admin.ok("POST", "/account", json=account_payload(handle.id, sink.port, id="ok"))
