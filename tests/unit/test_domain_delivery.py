"""Outcome classification, retry plans and rate windows: pure functions of their inputs."""

from __future__ import annotations

import pytest

from chalicelib.domain.outcome import FailureKind, GiveUp, RetryLater, error_text, is_temporary, plan_failure
from chalicelib.domain.rate import deferral, limited_windows


@pytest.mark.parametrize(
    ("kind", "code", "temporary"),
    [
        (FailureKind.REPLY, 451, True),
        (FailureKind.REPLY, 452, True),
        (FailureKind.REPLY, 550, False),
        (FailureKind.REPLY, 554, False),
        (FailureKind.AUTH, 535, False),
        (FailureKind.REPLY, 530, False),
        (FailureKind.REPLY, 534, False),
        (FailureKind.CONNECT, None, True),
        (FailureKind.TIMEOUT, None, True),
        (FailureKind.TLS, None, False),
        (FailureKind.UNKNOWN, None, True),
    ],
)
def test_smtp_failures_are_classified(kind: FailureKind, code: int | None, temporary: bool) -> None:
    assert is_temporary(kind, code) is temporary


def test_error_text_appends_the_smtp_code() -> None:
    assert error_text("5.1.1 User unknown", 550) == "5.1.1 User unknown (SMTP 550)"
    assert error_text("Connection refused", None) == "Connection refused"


def test_temporary_failure_is_deferred_by_the_delay_of_the_previous_retry_count() -> None:
    plan = plan_failure(
        temporary=True, error="busy (SMTP 451)", retry_count=1, max_retries=5, delays=(60, 300, 900), now=1000
    )
    assert plan == RetryLater(retry_count=2, deferred_ts=1300, error="busy (SMTP 451)")


def test_last_delay_is_reused() -> None:
    plan = plan_failure(temporary=True, error="e", retry_count=4, max_retries=9, delays=(60, 300), now=0)
    assert isinstance(plan, RetryLater) and plan.deferred_ts == 300


def test_retries_run_out_with_the_contract_prefix() -> None:
    plan = plan_failure(temporary=True, error="busy", retry_count=5, max_retries=5, delays=(1,), now=0)
    assert plan == GiveUp("Max retries (5) exceeded: busy")


def test_permanent_failure_gives_up_at_once() -> None:
    assert plan_failure(temporary=False, error="no", retry_count=0, max_retries=5, delays=(1,), now=0) == GiveUp("no")


def test_windows_are_fixed_utc_windows_and_null_or_zero_is_unlimited() -> None:
    windows = limited_windows({"minute": 2, "hour": 0, "day": None}, now=3_725)
    assert [(w.kind, w.start, w.end, w.limit) for w in windows] == [("minute", 3_720, 3_780, 2)]


def test_deferral_goes_to_the_latest_next_window() -> None:
    windows = limited_windows({"minute": 1, "hour": 1}, now=3_725)
    assert deferral(windows) == (7_200, "rate limit exceeded (per hour)")
    assert deferral(windows[:1]) == (3_780, "rate limit exceeded (per minute)")


def test_a_latency_counts_in_the_first_bucket_that_holds_it() -> None:
    from chalicelib.domain import metrics

    assert metrics.latency_bucket(0.0) == "latency_le_0.025"
    assert metrics.latency_bucket(0.025) == "latency_le_0.025"
    assert metrics.latency_bucket(0.026) == "latency_le_0.05"
    assert metrics.latency_bucket(7200) == "latency_le_inf"
    buckets, total = metrics.latency_series(
        {"latency_le_0.05": 2, "latency_le_1": 1, "latency_le_inf": 4, "latency_ms_sum": 14_500}
    )
    assert buckets[0] == ("0.025", 0.0) and buckets[1] == ("0.05", 2.0) and ("1", 3.0) in buckets
    assert buckets[-1] == ("+Inf", 7.0) and total == 14.5


def test_the_outcome_changes_are_the_columns_the_store_writes() -> None:
    from chalicelib.adapters.repositories.dispatch import OUTCOME_COLUMNS
    from chalicelib.domain.outcome import Changes

    # Changes (what mypy checks in the services) names exactly the SQL types' columns.
    assert set(Changes.__annotations__) == set(OUTCOME_COLUMNS)
