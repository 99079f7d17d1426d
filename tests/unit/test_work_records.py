"""The work record's one encoding: what is sent is what is read back, and what cannot be read
is said so, never guessed into a tenant."""

from __future__ import annotations

import pytest

from chalicelib.domain import work_records
from chalicelib.domain.work_records import Reason, SystemKind, SystemWork, TenantWork, UnreadableRecord


@pytest.mark.parametrize(
    "record", [*(TenantWork("t-1", reason) for reason in Reason), SystemWork(SystemKind.BOUNCE_POLL)]
)
def test_every_record_reads_back_as_it_was_sent(record: work_records.WorkRecord) -> None:
    assert work_records.decode(work_records.encode(record)) == record


def test_a_record_without_a_reason_or_with_one_this_version_does_not_know_is_a_submit() -> None:
    assert work_records.decode('{"tenant_id": "t-1"}') == TenantWork("t-1", Reason.SUBMIT)
    assert work_records.decode('{"tenant_id": "t-1", "reason": "from-a-newer-version"}') == TenantWork(
        "t-1", Reason.SUBMIT
    )


@pytest.mark.parametrize(
    "body", ["not json", "[1]", "{}", '{"tenant_id": ""}', '{"tenant_id": 7}', '{"kind": "unknown-work"}']
)
def test_a_body_naming_no_tenant_and_no_known_work_is_unreadable(body: str) -> None:
    with pytest.raises(UnreadableRecord):
        work_records.decode(body)


def test_the_reasons_a_run_claims_for_are_sent_once_while_one_is_outstanding() -> None:
    assert Reason.REPORT not in work_records.DEDUPED
    assert Reason.RUN_NOW not in work_records.DEDUPED  # an operator's request is never dropped
    assert {Reason.SUBMIT, Reason.TICK, Reason.CONTINUE} == work_records.DEDUPED
