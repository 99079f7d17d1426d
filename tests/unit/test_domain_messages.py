"""Per-message rules: priorities, rejections in contract order, stored payload, status."""

from __future__ import annotations

import pytest

from chalicelib.domain.messages import batches_changed, derive_status, held, parse_priority, precheck, stored_payload


def msg(**over: object) -> dict:
    base = {"id": "m1", "tenant_id": "t1", "account_id": "a1", "from": "a@x", "to": "b@x", "subject": "s"}
    base.update(over)
    return base


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, 2), ("immediate", 0), ("high", 1), ("medium", 2), ("low", 3), (-5, 0), (9, 3), (1, 1)],
)
def test_priority_labels_and_ints_are_clamped(value: object, expected: int) -> None:
    assert parse_priority(value) == expected


def test_missing_priority_takes_the_default_priority() -> None:
    assert parse_priority(None, default=0) == 0


@pytest.mark.parametrize(
    ("over", "reason"),
    [
        ({"id": ""}, "missing id"),
        ({"tenant_id": ""}, "missing tenant_id"),
        ({"tenant_id": "other"}, "Token not authorized for this tenant"),
        ({"account_id": ""}, "missing account_id"),
        ({"from": ""}, "missing from"),
        ({"to": ["", " "]}, "missing to"),
        ({"to": []}, "missing to"),
        ({"headers": {"Bad Name": "x"}}, "invalid headers"),
        ({"headers": {"X-Ok": "a\r\nBcc: evil@x"}}, "invalid headers"),
        ({"subject": "hi\nthere"}, "invalid headers"),
        ({"cc": ["a@x\r\n"]}, "invalid headers"),
    ],
)
def test_rejections_follow_the_contract(over: dict, reason: str) -> None:
    [candidate] = precheck([msg(**over)], scope_tenant="t1")
    assert candidate.rejection == reason


def test_scope_is_checked_before_the_other_field_rules() -> None:
    [candidate] = precheck([msg(tenant_id="other", account_id="")], scope_tenant="t1")
    assert candidate.rejection == "Token not authorized for this tenant"


def test_first_occurrence_decides_duplicates_even_when_itself_rejected() -> None:
    first, second = precheck([msg(account_id=""), msg()], scope_tenant=None)
    assert first.rejection == "missing account_id"
    assert second.rejection == "duplicate id in request"


def test_same_id_in_two_tenants_is_not_a_duplicate() -> None:
    results = precheck([msg(), msg(tenant_id="t2")], scope_tenant=None)
    assert [c.rejection for c in results] == [None, None]


def test_stored_payload_drops_nulls_and_unknown_keys_and_hides_attachment_secrets() -> None:
    payload, secrets = stored_payload(
        msg(
            cc=None,
            unknown="x",
            attachments=[
                {
                    "filename": "a.txt",
                    "storage_path": "base64:YQ==",
                    "mime_type": None,
                    "auth": {"method": "basic", "user": "u", "password": "p"},
                }
            ],
        ),
        priority=1,
    )
    assert "cc" not in payload and "unknown" not in payload
    assert payload["priority"] == 1
    assert payload["attachments"][0] == {
        "filename": "a.txt",
        "storage_path": "base64:YQ==",
        "auth": {"method": "basic", "user": "u"},
    }
    assert secrets == {"0": {"password": "p"}}


@pytest.mark.parametrize(
    ("stored", "deferred", "is_held", "status"),
    [
        ("sent", None, True, "sent"),
        ("error", 5, False, "error"),
        ("bounced", None, False, "bounced"),
        ("pending", 5, True, "suspended"),
        ("pending", 5, False, "deferred"),
        ("pending", None, False, "pending"),
    ],
)
def test_status_is_derived_in_contract_order(stored: str, deferred: int | None, is_held: bool, status: str) -> None:
    assert derive_status(stored, deferred, is_held) == status


def test_suspension_holds_listed_batches_or_everything() -> None:
    assert held("b1", ["b1"]) and held(None, ["*"]) and held("x", ["*"])
    assert not held(None, ["b1"]) and not held("b2", ["b1"])


def test_timestamps_are_rendered_in_utc_with_offset() -> None:
    from datetime import datetime, timedelta, timezone

    from chalicelib.domain.views import iso

    rome = timezone(timedelta(hours=1))
    assert iso(datetime(2025, 3, 1, 11, 15, 30, tzinfo=rome)) == "2025-03-01T10:15:30+00:00"


def test_the_batches_a_suspension_change_sets_aside_or_brings_back() -> None:
    assert batches_changed([], ["news"]) == ["news"]
    assert batches_changed(["news", "promo"], ["promo"]) == ["news"]
    # The whole-tenant mark replaces the batches' (they come back for when it is lifted) and
    # is itself no batch.
    assert batches_changed(["news", "promo"], ["*"]) == ["news", "promo"]
    assert batches_changed(["*"], []) == []
    assert batches_changed(["news"], ["news"]) == []
