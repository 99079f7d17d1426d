"""What an API access line says about a refused request (http_api.refusal): where and what
kind, never the submitted value."""

from __future__ import annotations

import json

from chalicelib.http_api import refusal


def test_a_422_names_the_fields_and_kinds_but_not_the_values() -> None:
    body = json.dumps(
        {
            "detail": [
                {
                    "loc": ["body", "messages", 0, "to", 1],
                    "msg": "Input should be a valid email address: 'x@@y'",
                    "type": "value_error.email",
                },
                {
                    "loc": ["body", "messages", 0, "subject"],
                    "msg": "String should have at least 1 characters",
                    "type": "value_error.minLength",
                },
            ]
        }
    )
    why = refusal(body)
    assert why == "body.messages.0.to.1: value_error.email; body.messages.0.subject: value_error.minLength"
    assert "x@@y" not in why


def test_other_refusals_carry_their_message_and_add_messages_its_count() -> None:
    assert refusal(json.dumps({"detail": "Tenant 'acme' not found"})) == "Tenant 'acme' not found"
    assert (
        refusal(json.dumps({"detail": {"error": None, "rejected": [{"id": "a"}, {"id": "b"}]}}))
        == "2 message(s) rejected"
    )
    assert refusal("not json") == ""
