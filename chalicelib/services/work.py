"""What one tenant's work records ask for: a dispatch run, then a report run."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.services.dispatch import RunSummary, dispatch_tenant
from chalicelib.services.enqueue import REPORT_ONLY
from chalicelib.services.ports import Ports
from chalicelib.services.reports import ReportResult, report_tenant

# Reasons that ask for a report run even when the dispatch run created no events.
_REPORT_REASONS = {REPORT_ONLY, "run-now"}


@dataclass
class WorkResult:
    dispatch: RunSummary | None
    report: ReportResult | None


def process(ports: Ports, tenant_id: str, reasons: set[str], budget_seconds: float) -> WorkResult:
    summary = None
    if reasons - {REPORT_ONLY}:
        summary = dispatch_tenant(ports, tenant_id, budget_seconds=budget_seconds)
    # A run that created events asks for a report, unless its tenant has nowhere to send one
    # (then the report lease would be a statement for nothing after every run).
    created = summary is not None and summary.reports_to and (summary.sent + summary.deferred + summary.errors) > 0
    report = None
    if created or reasons & _REPORT_REASONS:
        report = report_tenant(ports, tenant_id, dispatch=lambda: dispatch_tenant(ports, tenant_id))
    return WorkResult(summary, report)
