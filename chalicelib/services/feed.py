"""An account's messages for a run's SMTP workers: the batch at hand, and the next batch
claimed while the last messages of this one are still in flight.

Claiming only once a batch had drained left the account's connections idle for the tail of
the batch (the slowest connection's last message), the claim and the suppression lookup:
several milliseconds every batch_size messages. Here, when no more messages wait than
``low_water`` (the caller's choice: half a batch, at least one per connection), the next batch
is claimed in the background and appended; the workers wait for it, if they must, rather
than stop. A batch holding priority-0 messages is not appended: it is
handed back, so that they finish before anything else starts (docs/api.md §5.1).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from chalicelib.domain.rows import MessageRow

Claim = Callable[[], Awaitable[list[MessageRow]]]


class Feed:
    def __init__(
        self,
        first: list[MessageRow],
        low_water: int,
        claim: Claim | None,
        prepare: Callable[[list[MessageRow]], Awaitable[None]],
    ) -> None:
        """``claim``: the next batch, or None when no further batch may be claimed in this run
        (it is asked again before each refill); ``prepare``: what a batch needs before it is
        sent (the suppression lookup)."""
        self.pending: deque[MessageRow] = deque(first)
        self.low_water = low_water
        self.claim = claim
        self.prepare = prepare
        self.held: list[MessageRow] = []  # a claimed batch the caller runs itself
        self._refill: asyncio.Task[None] | None = None
        self._closed = claim is None

    async def next(self) -> MessageRow | None:
        """The next message to send, or None when the account has nothing more in this run."""
        while True:
            if len(self.pending) <= self.low_water and self._refill is None and not self._closed:
                self._refill = asyncio.create_task(self._fetch())
            if self.pending:
                return self.pending.popleft()
            if self._refill is None:
                return None
            await asyncio.shield(self._refill)

    async def _fetch(self) -> None:
        try:
            assert self.claim is not None
            batch = await self.claim()
            if not batch:
                self._closed = True
            elif any(m["priority"] == 0 for m in batch):
                self.held, self._closed = batch, True
            else:
                await self.prepare(batch)
                self.pending.extend(batch)
        except BaseException:
            self._closed = True
            raise
        finally:
            self._refill = None

    async def close(self) -> list[MessageRow]:
        """Wait for a claim in flight; returns the claimed messages no worker took (when the
        workers stopped early), for the caller to release."""
        self._closed = True
        while self._refill is not None:
            await asyncio.shield(self._refill)
        left, self.pending = list(self.pending), deque()
        return left
