"""What one tenant's work records ask for: a dispatch run, then a report run; and while the
client application answers a report with ``queued`` > 0, a dispatch run of what it queued and
the next report at once (docs/api.md §5.10). The two runs alternate here, each in its own
service: the report run never calls back into dispatch."""

from __future__ import annotations

import asyncio
import contextvars
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from chalicelib import limits
from chalicelib.domain.work_records import REPORTING, Reason
from chalicelib.services import dispatch
from chalicelib.services.outcomes import RunSummary
from chalicelib.services.ports import Ports
from chalicelib.services.reports import MAX_ROUNDS, ReportResult, report_tenant

# A report run is blocking work (HTTP to the client application): its own threads, one per
# tenant a batch can hold, so that it never waits for, or holds, the threads the dispatch runs
# use for the database.
_REPORT_THREADS = ThreadPoolExecutor(max_workers=limits.BATCH_SIZE, thread_name_prefix="report")


@dataclass
class WorkResult:
    dispatch: RunSummary | None
    report: ReportResult | None


async def process(ports: Ports, tenant_id: str, reasons: set[Reason], budget_seconds: float) -> WorkResult:
    summary = None
    if reasons - {Reason.REPORT}:
        summary = await dispatch.serve(ports, tenant_id, budget_seconds=budget_seconds)
    # A run that created events asks for a report, unless its tenant has nowhere to send one
    # (then the report lease would be a statement for nothing after every run).
    created = summary is not None and summary.reports_to and (summary.sent + summary.deferred + summary.errors) > 0
    report = None
    if created or reasons & REPORTING:
        report = await _report(ports, tenant_id, asked=False, rounds=MAX_ROUNDS)
        while report.queued and report.requests < MAX_ROUNDS:
            # One run for what the client queued (more is the next work record's), then the
            # next request, whatever there is to report.
            more = await dispatch.serve(ports, tenant_id)
            if summary is None:
                summary = more
            else:
                summary.add(more)
            report.add(await _report(ports, tenant_id, asked=True, rounds=MAX_ROUNDS - report.requests))
    return WorkResult(summary, report)


async def _report(ports: Ports, tenant_id: str, asked: bool, rounds: int) -> ReportResult:
    context = contextvars.copy_context()  # the run's log keys go along, as with to_thread
    return await asyncio.get_running_loop().run_in_executor(
        _REPORT_THREADS, context.run, lambda: report_tenant(ports, tenant_id, asked, rounds)
    )
