"""What becomes of one message in a dispatch run (docs/api.md §5.7, 5.8): sent, deferred on the
retry plan or by a rate limit, or ended in error; each handed to the run's group commit
(services/outcomes.py) and counted in the run's summary."""

from __future__ import annotations

import logging
from typing import Any

from chalicelib.domain import metrics
from chalicelib.domain.outcome import Changes, Event, GiveUp, plan_failure
from chalicelib.domain.rate import deferral, held_metadata
from chalicelib.domain.rows import AccountRow, MessageRow, Row
from chalicelib.errors import DeliveryError
from chalicelib.services.outcomes import Outcome, OutcomeWriter, RunSummary
from chalicelib.services.ports import Ports

log = logging.getLogger(__name__)


class Verdicts:
    def __init__(self, ports: Ports, writer: OutcomeWriter, summary: RunSummary) -> None:
        self.ports = ports
        self.outcomes = writer
        self.summary = summary

    async def failed(self, message: MessageRow, exc: DeliveryError) -> None:
        log.info(
            "delivery attempt failed",
            extra={
                "message_id": message["id"],
                "account_id": message["account_id"],
                "temporary": exc.temporary,
                "smtp_code": exc.code,
                "reason": str(exc)[:300],
            },
        )
        s = self.ports.settings
        plan = plan_failure(
            temporary=exc.temporary,
            error=str(exc),
            retry_count=message["retry_count"],
            max_retries=s.max_retries,
            delays=s.retry_delays,
            now=self.ports.now(),
        )
        if isinstance(plan, GiveUp):
            await self.give_up(message, plan.error, counters=(metrics.ERRORS,), last_error=str(exc))
            return
        changes: Changes = {"retry_count": plan.retry_count, "deferred_ts": plan.deferred_ts, "last_error": plan.error}
        await self.record(message, changes, plan.event(exc.code), (metrics.DEFERRED,))
        self.summary.deferred += 1

    async def rate_limited(self, account: AccountRow, message: MessageRow, exhausted: list[Any]) -> None:
        if account.get("limit_behavior") == "reject":
            await self.give_up(message, "rate_limit_exceeded", counters=(metrics.ERRORS, metrics.RATE_LIMITED))
            return
        until, reason = deferral(exhausted)
        event: Event = {
            "type": "deferred",
            "ts": until,
            "description": reason,
            "metadata": held_metadata(self.ports.now()),
        }
        await self.record(message, {"deferred_ts": until}, event, (metrics.DEFERRED, metrics.RATE_LIMITED))
        self.summary.deferred += 1

    async def give_up(
        self,
        message: MessageRow,
        error: str,
        counters: tuple[str, ...],
        last_error: str | None = None,
        metadata: Row | None = None,
    ) -> None:
        now = self.ports.now()
        changes: Changes = {
            "status": "error",
            "error": error,
            "error_ts": now,
            "sent_ts": now,
            "last_error": last_error or error,
        }
        await self.record(
            message, changes, {"type": "error", "ts": now, "description": error, "metadata": metadata}, counters
        )
        self.summary.errors += 1

    async def sent(
        self,
        message: MessageRow,
        accepted: float,
        refused: dict[str, str],
        left_out: list[str],
        fallbacks: tuple[str, ...],
    ) -> None:
        """Accepted by the SMTP server at ``accepted`` (unix seconds). The outcome must land:
        the writer retries it while the lease holds."""
        sent_at = self.ports.now()
        notes = (
            ("refused_recipients", refused),
            ("suppressed_recipients", left_out),
            ("large_file_fallbacks", list(fallbacks)),
        )
        latency = max(0.0, accepted - message["created_at"].timestamp())
        event: Event = {"type": "sent", "ts": sent_at, "metadata": {k: v for k, v in notes if v} or None}
        await self.record(
            message,
            {"status": "sent", "sent_ts": sent_at},
            event,
            (metrics.SENT, metrics.latency_bucket(latency)),
            round(latency * 1000),
        )

    async def record(
        self,
        message: MessageRow,
        changes: Changes,
        event: Event,
        counters: tuple[str, ...],
        latency_ms: int | None = None,
    ) -> None:
        await self.outcomes.add(Outcome(message, changes, event, counters, latency_ms))
        self.summary.outcomes.append(f"{message['id']}:{event['type']}")
