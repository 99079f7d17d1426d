"""The filters and cursor of GET /messages (extension 7.5): hostile values are 422s."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from chalicelib.domain import finding
from chalicelib.errors import RequestValidationError


def _forged(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


def test_a_cursor_reads_back_what_it_was_made_from() -> None:
    made = finding.cursor({"priority": 2, "created_at": datetime(2026, 1, 1, tzinfo=UTC), "id": "m-1"})
    assert finding.read({"cursor": made}).after == (2, "2026-01-01T00:00:00+00:00", "m-1")


@pytest.mark.parametrize(
    "query",
    [
        {"cursor": "x"},
        {"cursor": _forged([2, "20260101T000000", "m"])},
        {"cursor": _forged([99, "2026-01-01T00:00:00+00:00", "m"])},
        {"cursor": _forged([True, "2026-01-01T00:00:00+00:00", "m"])},
        {"cursor": _forged({"a": 1})},
        {"since": "-253402300799"},
        {"until": "1e9"},
        {"limit": "1001"},
        {"limit": "0"},
        {"status": "lost"},
    ],
)
def test_a_value_the_database_could_not_take_is_a_422(query: dict[str, str]) -> None:
    with pytest.raises(RequestValidationError):
        finding.read(query)


def test_records_are_kept_while_they_fit_what_lambda_can_return() -> None:
    from chalicelib.domain import answers

    small = [{"id": str(i), "body": "x" * 100} for i in range(10)]
    assert answers.fitting(small) == 10
    quoted = [{"id": str(i), "body": '"' * 1000} for i in range(10)]  # a quote counts three times
    one = answers.proxied_size(json.dumps(quoted[0]))
    assert one > 2 * 1000 and answers.fitting(quoted, budget=3 * one + 300) == 3
    assert answers.fitting([{"body": "y" * 10_000}], budget=100) == 1, "a listing always moves forward"
    assert answers.fitting([]) == 0
