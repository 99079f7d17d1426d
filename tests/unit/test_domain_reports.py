"""Delivery report rules: entry shapes, backoff, empty-sync timing, answers."""

from __future__ import annotations

import pytest

from chalicelib.domain.reports import backoff, empty_sync_due, entry, read_answer


def test_entries_have_exactly_the_contract_keys() -> None:
    assert entry({"id": "m", "event_type": "sent", "event_ts": 5}) == {"id": "m", "sent_ts": 5}
    assert entry({"id": "m", "event_type": "error", "event_ts": 5, "description": "x"}) == {
        "id": "m",
        "error_ts": 5,
        "error": "x",
    }
    assert entry({"id": "m", "event_type": "deferred", "event_ts": 9, "description": None}) == {
        "id": "m",
        "deferred_ts": 9,
        "deferred_reason": None,
    }
    bounce = entry(
        {"id": "m", "event_type": "bounce", "event_ts": 7, "metadata": {"bounce_type": "hard", "bounce_code": "511"}}
    )
    assert bounce == {"id": "m", "bounce_ts": 7, "bounce_type": "hard", "bounce_code": "511", "bounce_reason": None}


@pytest.mark.parametrize(("failures", "seconds"), [(1, 5), (2, 10), (3, 20), (6, 160), (7, 300), (20, 300)])
def test_backoff_doubles_from_five_seconds_up_to_the_interval(failures: int, seconds: int) -> None:
    assert backoff(failures, 300) == seconds


def test_empty_sync_timing() -> None:
    assert empty_sync_due(True, None, 100, 300)
    assert not empty_sync_due(False, None, 100, 300), "inactive tenants get no empty syncs"
    assert not empty_sync_due(True, 50, 100, 300)
    assert empty_sync_due(True, 50, 350, 300)
    assert not empty_sync_due(True, 500, 100, 300), "a future clock is DND"


@pytest.mark.parametrize(
    ("body", "answer"),
    [
        (b'{"queued": 3, "next_sync_after": 99}', (3, 99.0)),
        (b"not json", (0, None)),
        (b"", (0, None)),
        (b"[1]", (0, None)),
        (b'{"queued": true}', (0, None)),
    ],
)
def test_client_answers(body: bytes, answer: tuple) -> None:
    assert read_answer(body) == answer
