"""What the command log keeps of a request: bounded, whatever the request's size."""

from __future__ import annotations

import json

from chalicelib.services import audit


def _message(n: int) -> dict[str, object]:
    return {
        "id": f"m{n}",
        "tenant_id": "t",
        "account_id": "a",
        "from": "a@example.com",
        "to": ["b@example.com"],
        "subject": "s" * 1000,
        "body": "x" * 50_000,
        "password": "p",
    }


def test_a_small_request_is_kept_whole_without_secrets() -> None:
    kept = audit.payload({"messages": [{"id": "m1", "body": "hi", "password": "p"}]}, {}, {})
    assert kept == {"messages": [{"id": "m1", "body": "hi"}]}


def test_a_large_add_messages_keeps_who_sent_what_where_within_the_bound() -> None:
    kept = audit.payload({"messages": [_message(n) for n in range(1000)]}, {"tenant_id": "t"}, {})
    assert len(json.dumps(kept)) <= audit.PAYLOAD_LIMIT
    assert kept["summarized"] is True and kept["message_count"] == 1000 and kept["tenant_id"] == "t"
    first = kept["messages"][0]
    assert first["id"] == "m0" and first["to"] == ["b@example.com"] and "body" not in first
    assert len(first["subject"]) == audit.FIELD_LIMIT and "password" not in first


def test_any_other_oversized_body_keeps_its_keys_only() -> None:
    kept = audit.payload({"name": "n" * 100_000}, {}, {"tenant_id": "t"})
    assert kept == {"summarized": True, "keys": ["name", "tenant_id"]}
