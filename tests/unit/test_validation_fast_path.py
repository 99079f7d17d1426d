"""The compiled schema check (validation.fast_valid) never accepts what jsonschema refuses.

A body the compiled check accepts skips jsonschema; if the two disagreed that way, a 422 would
become a stored row that cannot be built. Generated bodies: each schema's own property names
with values of every JSON kind (integral floats, 1 for true, strings with line breaks), and
message lists built the same way."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain import schemas
from chalicelib.domain.validation import fast_valid, schema_errors

SCHEMAS = {
    name: value
    for name, value in vars(schemas).items()
    if isinstance(value, dict) and value.get("type") == "object" and name.isupper()
}

_STRINGS = st.one_of(
    st.sampled_from(
        [
            "",
            "x",
            "a@example.com",
            "A <a@example.com>",
            "a@example.com, b@example.com",
            "bearer",
            "basic",
            "none",
            "rewrite",
            "reject",
            "high",
            "s3://bucket/p",
            "0" * 32,
            "line\nbreak",
            "end\n",
            "bad address",
            "x" * 300,
            "pool",
            "dedicated",
            "\u2028",
            "example.com",
            "sel1",
        ]
    ),
    st.text(max_size=8),
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.integers(-(2**40), 2**40),
    st.sampled_from([0.0, 1.0, 2.5, -1.0, 1e3]),
    _STRINGS,
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=6,
)


def _typed(sub: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
    """Values shaped by the property's own schema (so that many bodies are valid), each
    alternative beside an arbitrary JSON value."""
    if "const" in sub:
        return st.just(sub["const"])
    if "enum" in sub:
        return st.sampled_from(sub["enum"])
    if "anyOf" in sub:
        return st.one_of(*(_typed(branch, depth) for branch in sub["anyOf"]))
    if sub.get("properties") and depth < 2:
        return _body(sub, depth + 1)
    kinds = sub.get("type", [])
    kinds = [kinds] if isinstance(kinds, str) else kinds
    low, high = sub.get("minimum", -(2**33)), sub.get("maximum", 2**33)
    options: list[st.SearchStrategy[Any]] = []
    for kind in kinds:
        if kind == "string":
            options.append(_STRINGS)
        elif kind == "integer":
            options.append(st.integers(low, high))
        elif kind == "number":
            options.append(st.one_of(st.integers(low, high), st.floats(allow_nan=False, allow_infinity=False)))
        elif kind == "boolean":
            options.append(st.booleans())
        elif kind == "null":
            options.append(st.none())
        elif kind == "array":
            items = sub.get("items", {})
            options.append(st.lists(_typed(items, depth + 1) if depth < 2 else _JSON, max_size=2))
        elif kind == "object":
            options.append(st.dictionaries(st.sampled_from(["a", "b"]), _SCALARS, max_size=2))
    return st.one_of(*options) if options else _JSON


def _body(schema: dict[str, Any], depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    fields = {
        name: st.one_of(_typed(sub, depth), _JSON) if isinstance(sub, dict) else _JSON
        for name, sub in properties.items()
    }
    fields.setdefault("unknown", _JSON)
    return st.fixed_dictionaries(
        {k: v for k, v in fields.items() if k in required},
        optional={k: v for k, v in fields.items() if k not in required},
    )


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_the_compiled_check_accepts_nothing_jsonschema_refuses(name: str) -> None:
    schema = SCHEMAS[name]

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_body(schema))
    def agree(body: dict[str, Any]) -> None:
        if fast_valid(schema, body):
            assert schema_errors(schema, body) == [], body

    agree()


def test_an_integral_float_and_1_for_true_take_jsonschema() -> None:
    assert not fast_valid(schemas.ACCOUNT, {"id": "a", "tenant_id": "t", "host": "h", "port": 25.0})
    assert schema_errors(schemas.ACCOUNT, {"id": "a", "tenant_id": "t", "host": "h", "port": 25.0})
    large = {"enabled": 1, "action": "rewrite"}
    assert fast_valid(schemas.LARGE_FILE_CONFIG, large) == (schema_errors(schemas.LARGE_FILE_CONFIG, large) == [])


def test_a_valid_message_list_passes_the_compiled_check() -> None:
    message = {
        "id": "m1",
        "tenant_id": "t",
        "account_id": "a",
        "from": "A <a@example.com>",
        "to": ["b@example.com"],
        "subject": "Hi",
        "priority": "high",
    }
    assert fast_valid(schemas.ADD_MESSAGES, {"messages": [message] * 3})
