"""Group commit of a dispatch run's outcomes.

Each SMTP answer becomes an outcome (the message row's change, its event, its counters).
Writing each in its own transaction cost a thread hop and a commit per message, and made
every message of an account update the same counter row. Here a run's outcomes are
written in batches: while one batch is being written the next one fills, and it is written
as soon as the first one is done; a batch under half full first waits GROUP_WINDOW (5 ms)
for more. Sending never waits for either. The counters of a batch are summed before they
are written.

The duplicate window this opens (limits.OUTCOME_BATCH): a message the SMTP server
accepted is sent again only if the process dies before its outcome is written, so at
most the batch being written, the batch filling (each at most OUTCOME_BATCH) and the
messages in flight on the run's connections. A worker waits when the filling batch is
full, so the window never grows with the database's slowness.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from chalicelib.domain.outcome import Changes, Event, OutcomeRow
from chalicelib.domain.rows import MessageRow
from chalicelib.errors import InfrastructureError
from chalicelib.services.ports import DispatchStore

log = logging.getLogger(__name__)

GROUP_WINDOW = 0.005  # s a small batch waits for more outcomes before it is written
# Writers with outcomes in hand in this process. Runs served side by side share one event
# loop (functions/dispatch.py), each sending at its share of the loop's rate, so a batch
# fills that many times slower: the window grows with them (measured with ten tenants: 5 ms
# alone halved the batches and doubled the statements per message). Only the event loop's
# thread counts, so no lock (tests may run loops in threads: a miscount only sizes a window).
_busy = 0
MAX_WINDOW = 0.05


@dataclass(frozen=True)
class Outcome:
    message: MessageRow
    changes: Changes
    event: Event
    counters: tuple[str, ...]
    latency_ms: int | None = None


@dataclass
class OutcomeWriter:
    store: DispatchStore
    owner: str
    lease_ends: float  # time.monotonic() after which the claims may be someone else's
    limit: int
    # Whether more outcomes may come soon (messages of the run still being sent).
    more_coming: Callable[[], bool] = field(default=lambda: True)
    written: int = 0
    _pending: list[Outcome] = field(default_factory=list)
    _room: asyncio.Condition = field(default_factory=asyncio.Condition)
    _writer: asyncio.Task[None] | None = None
    _closing: bool = False

    async def add(self, outcome: Outcome) -> None:
        async with self._room:
            await self._room.wait_for(lambda: len(self._pending) < self.limit)
            self._pending.append(outcome)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all())

    async def close(self) -> None:
        """Write what is pending; returns when every outcome is written or given up."""
        self._closing = True
        while self._writer is not None and not self._writer.done():
            await self._writer
        if self._pending:  # added after the last writer finished its loop
            await self._write_all()

    async def _write_all(self) -> None:
        global _busy
        _busy += 1
        try:
            while self._pending:
                if len(self._pending) < self.limit // 2 and not self._closing and self.more_coming():
                    # A few milliseconds let a batch fill: fewer, larger statements. Sending
                    # does not wait for this; only the outcome's row does. Nothing more in
                    # flight (a run's one message): nothing to wait for.
                    await asyncio.sleep(min(MAX_WINDOW, GROUP_WINDOW * _busy))
                batch, self._pending = self._pending, []
                async with self._room:
                    self._room.notify_all()
                await self._write(batch)
        finally:
            _busy -= 1

    @staticmethod
    def _row(outcome: Outcome) -> OutcomeRow:
        row: OutcomeRow = {
            **outcome.changes,
            "pk": str(outcome.message["pk"]),
            "event": outcome.event,
            "metrics": list(outcome.counters),
            "latency_ms": outcome.latency_ms,
        }
        return row

    async def _write(self, batch: list[Outcome]) -> None:
        """Retried while the claims' lease holds: releasing a sent message's claim would make
        it due and send it again. A process that dies first leaves it to the lease."""
        rows = [self._row(o) for o in batch]
        delay = 0.2
        while True:
            try:
                landed = await asyncio.to_thread(self.store.record_outcomes, self.owner, rows)
                break
            except InfrastructureError as exc:
                if time.monotonic() + delay > self.lease_ends:
                    log.warning(
                        "%d outcomes not recorded (%s); their leases make them due again",
                        len(batch),
                        type(exc).__name__,
                    )
                    return
                log.warning("%d outcomes not recorded yet (%s); retrying", len(batch), type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            except Exception:
                log.exception("%d outcomes not recorded", len(batch))
                return
        self.written += len(landed)
        for o in batch:
            if str(o.message["pk"]) not in landed:
                # Deleted meanwhile, or the lease ran out and another run holds it now.
                log.warning(
                    "outcome %s of message %s not recorded: claim no longer ours",
                    o.event["type"],
                    o.message["id"],
                    extra={"message_id": o.message["id"]},
                )


@dataclass
class RunSummary:
    tenant_id: str
    claimed: int = 0
    sent: int = 0
    deferred: int = 0
    errors: int = 0
    released: int = 0
    more_due: bool = False
    outcomes: list[str] = field(default_factory=list)
    reports_to: bool = True  # the tenant has a client application to report to

    def add(self, other: RunSummary) -> None:
        self.claimed += other.claimed
        self.sent += other.sent
        self.deferred += other.deferred
        self.errors += other.errors
        self.released += other.released
        self.outcomes.extend(other.outcomes)
        self.more_due = other.more_due
        self.reports_to = other.reports_to
