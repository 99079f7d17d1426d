"""A retention run ends within its budget: it starts no batch that the longest so far says
would end after the deadline."""

from __future__ import annotations

from chalicelib import limits
from chalicelib.services.retention import drain


class _Batches:
    """Full batches that each take ``seconds`` on a clock only they advance."""

    def __init__(self, seconds: float, full: int = 1000) -> None:
        self.now, self.seconds, self.left = 0.0, seconds, full

    def clock(self) -> float:
        return self.now

    def step(self) -> int:
        self.now += self.seconds
        self.left -= 1
        return limits.RETENTION_BATCH if self.left >= 0 else 0


def test_no_batch_is_started_that_would_end_past_the_deadline() -> None:
    batches = _Batches(seconds=3.0)
    removed = drain(batches.step, deadline=10.0, clock=batches.clock)
    assert batches.now <= 10.0, "three batches of 3 s fit in 10 s; a fourth would end at 12 s"
    assert removed == 3 * limits.RETENTION_BATCH


def test_a_short_batch_ends_the_drain_at_once() -> None:
    batches = _Batches(seconds=1.0, full=2)
    assert drain(batches.step, deadline=100.0, clock=batches.clock) == 2 * limits.RETENTION_BATCH
    assert batches.now == 3.0


def test_one_batch_runs_even_with_no_budget_left() -> None:
    batches = _Batches(seconds=1.0)
    assert drain(batches.step, deadline=0.0, clock=batches.clock) == limits.RETENTION_BATCH
