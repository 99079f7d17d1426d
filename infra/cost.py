"""The cost model (docs/operations.md, "Cost model"): what a deployment costs a month, from the
template's defaults, AWS's list prices and the figures `make bench` measured.

A model, not a bill: us-east-1 list prices, free tiers and taxes left out. The rendered tables
are in docs/operations.md between the cost-model markers; a unit test renders them again from
here and from the template's parameters, so neither can drift from the other.

Run: python -m infra.cost [--write]   (prints the tables; --write puts them into the page)
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from chalicelib import limits

HOURS = 730  # a month
MINUTES = HOURS * 60
GB = 1024**3


@dataclass(frozen=True)
class Prices:  # us-east-1, USD, 2025 list prices
    lambda_gb_s: float = 0.0000166667
    lambda_request: float = 0.20 / 1e6
    api_gateway_request: float = 3.50 / 1e6  # REST API, first 333 M
    sqs_request: float = 0.40 / 1e6
    aurora_acu_h: float = 0.12
    aurora_io: float = 0.20 / 1e6
    aurora_gb_month: float = 0.10
    proxy_acu_h: float = 0.015
    proxy_min_acu: float = 8  # RDS Proxy on Serverless v2 bills at least 8 ACU
    nat_h: float = 0.045
    nat_gb: float = 0.045
    internet_gb: float = 0.09
    secret_month: float = 0.40
    alarm_month: float = 0.10
    log_gb: float = 0.50
    ses_per_message: float = 0.10 / 1000


@dataclass(frozen=True)
class Measured:
    """From `make bench` on the 2-core machine (docs/benchmarks.md, "Current figures": the
    median of three runs on 2026-12-07), per delivered message."""

    date: str = "2026-12-07"
    api_cpu_ms: float = 0.065  # API function, add-messages with 1,000 per call
    dispatch_cpu_ms: float = 0.375  # dispatch function: claim, build, send, record
    postgres_cpu_ms: float = 0.22  # PostgreSQL
    statements: float = 0.14  # database statements (0.24 with ten tenants at once)


@dataclass(frozen=True)
class Workload:
    tenants: int = 1000
    messages_per_day: int = 10_000_000
    per_request: int = 100  # messages per add-messages call
    message_kb: float = 20  # sent size
    smtp_ms: float = 100  # one SMTP transaction at the tenant's server
    dedicated: int = 0  # tenants with a queue of their own
    peak_to_mean: float = 3  # the database is sized for the busy hour
    retention_days: int = 7
    # A stored message with its events and index entries; half of each messages page stays
    # free for the claim's update (migration 016), about 1 KB more per message.
    row_kb: float = 3.0


@dataclass(frozen=True)
class Defaults:
    """What the template deploys unless told otherwise (a unit test reads them from it)."""

    min_acu: float = limits.DATABASE_MIN_ACU
    api_memory_gb: float = limits.API_MEMORY / 1024
    dispatch_memory_gb: float = limits.DISPATCH_MEMORY / 1024
    scheduled_memory_gb: float = limits.SCHEDULED_MEMORY / 1024
    connections_per_account: int = 3  # MAILPROXY_SMTP_CONNECTIONS's default
    scheduled_functions: int = 4  # retry, reports, retention, bounces, every minute
    polled_queues: int = 2  # the pool's work queue and the system queue
    secrets: int = 4
    alarms: int = 4
    vcpu_per_acu: float = 0.25  # 2 GiB with its share of a 2-vCPU, 16 GiB instance


# Lambda's pollers long-poll an idle queue: about 5 pollers x 3 requests a minute.
POLL_REQUESTS_PER_QUEUE = 5 * 3 * MINUTES
TENANT_QUEUE_MONTH = POLL_REQUESTS_PER_QUEUE * Prices().sqs_request + 2 * Prices().alarm_month


def idle(p: Prices = Prices(), d: Defaults = Defaults()) -> list[tuple[str, str, float]]:
    """(item, assumption, $/month) of a deployment that sends nothing."""
    scheduled = d.scheduled_functions * MINUTES
    return [
        (
            "Aurora Serverless v2",
            f"{d.min_acu:g} ACU minimum, never paused (the ticks touch it every minute)",
            d.min_acu * HOURS * p.aurora_acu_h,
        ),
        ("RDS Proxy", f"billed as at least {p.proxy_min_acu:g} ACU", p.proxy_min_acu * HOURS * p.proxy_acu_h),
        ("NAT gateway", "one (SMTP egress from private subnets)", HOURS * p.nat_h),
        (
            "Lambda, scheduled",
            f"{d.scheduled_functions} functions a minute, 0.2 s at {d.scheduled_memory_gb * 1024:.0f} MB",
            scheduled * (0.2 * d.scheduled_memory_gb * p.lambda_gb_s + p.lambda_request),
        ),
        (
            "SQS",
            f"{d.polled_queues} queues long-polled by Lambda",
            d.polled_queues * POLL_REQUESTS_PER_QUEUE * p.sqs_request,
        ),
        (
            "Secrets Manager, CloudWatch",
            f"{d.secrets} secrets, {d.alarms} alarms, 0.1 GB of logs",
            d.secrets * p.secret_month + d.alarms * p.alarm_month + 0.1 * p.log_gb,
        ),
    ]


def per_million(
    m: Measured = Measured(), w: Workload = Workload(), p: Prices = Prices(), d: Defaults = Defaults()
) -> list[tuple[str, str, float]]:
    """(item, assumption, $) of one million messages beyond the idle floor."""
    n = 1e6
    requests = n / w.per_request
    api_s = 0.02 + w.per_request * m.api_cpu_ms / 1000
    dispatch_s = w.smtp_ms / 1000 / d.connections_per_account + m.dispatch_cpu_ms / 1000
    database_acu_h = n * m.postgres_cpu_ms / 1000 / 3600 / d.vcpu_per_acu
    return [
        ("API Gateway", f"{w.per_request} messages per request", requests * p.api_gateway_request),
        (
            "API function",
            f"20 ms + {m.api_cpu_ms} ms per message at {d.api_memory_gb * 1024:.0f} MB",
            requests * (api_s * d.api_memory_gb * p.lambda_gb_s + p.lambda_request),
        ),
        (
            "SQS",
            "at most one work record per request (one per tenant outstanding): send, receive, delete",
            requests * 3 * p.sqs_request,
        ),
        (
            "dispatch function",
            f"{w.smtp_ms:g} ms SMTP over {d.connections_per_account} connections + "
            f"{m.dispatch_cpu_ms} ms CPU at {d.dispatch_memory_gb * 1024:.0f} MB",
            n * dispatch_s * d.dispatch_memory_gb * p.lambda_gb_s + requests * p.lambda_request,
        ),
        (
            "Aurora compute",
            f"{m.postgres_cpu_ms} ms CPU per message, {d.vcpu_per_acu} vCPU per ACU",
            database_acu_h * p.aurora_acu_h,
        ),
        ("Aurora I/O", f"{m.statements} statements per message, one I/O each", n * m.statements * p.aurora_io),
        (
            "data out",
            f"{w.message_kb:g} KB per message through NAT to the internet",
            n * w.message_kb * 1024 / GB * (p.nat_gb + p.internet_gb),
        ),
    ]


def monthly(w: Workload, m: Measured = Measured(), p: Prices = Prices(), d: Defaults = Defaults()) -> dict[str, float]:
    """The month's total for a workload, by part."""
    messages = w.messages_per_day * 30
    variable = sum(cost for *_, cost in per_million(m, w, p, d)) * messages / 1e6
    # The busy hour sets the capacity Aurora scales to; above the proxy's 8 ACU floor it bills more.
    peak_acu = w.messages_per_day / 86400 * w.peak_to_mean * m.postgres_cpu_ms / 1000 / d.vcpu_per_acu
    proxy_extra = max(0.0, peak_acu - p.proxy_min_acu) * HOURS * p.proxy_acu_h / w.peak_to_mean
    storage = w.messages_per_day * w.retention_days * w.row_kb * 1024 / GB * p.aurora_gb_month
    return {
        "idle": sum(cost for *_, cost in idle(p, d)),
        "messages": variable,
        "storage": storage,
        "proxy above its floor": proxy_extra,
        "dedicated tenants": w.dedicated * TENANT_QUEUE_MONTH,
    }


def ses_break_even(
    m: Measured = Measured(), w: Workload = Workload(), p: Prices = Prices(), d: Defaults = Defaults()
) -> float:
    """Messages a month below which Amazon SES alone would cost less than this deployment."""
    ours = sum(cost for *_, cost in per_million(m, w, p, d)) / 1e6
    return sum(cost for *_, cost in idle(p, d)) / (p.ses_per_message - ours)


def render() -> str:
    """The tables of docs/operations.md's cost model, between its markers."""
    m, w = Measured(), Workload()
    lines = [
        "Idle floor, with the database the stack creates (`DatabaseUrl` empty), per month:",
        "",
        "| item | assumption | $/month |",
        "|---|---|---|",
    ]
    lines += [f"| {item} | {why} | {cost:,.2f} |" for item, why, cost in idle()]
    lines += [
        f"| **total** | | **{sum(c for *_, c in idle()):,.2f}** |",
        "",
        f"Per million messages on top of it (measured {m.date}: CPU ms per message api "
        f"{m.api_cpu_ms}, dispatch {m.dispatch_cpu_ms}, PostgreSQL {m.postgres_cpu_ms}; "
        f"{m.statements} statements):",
        "",
        "| item | assumption | $ |",
        "|---|---|---|",
    ]
    lines += [f"| {item} | {why} | {cost:,.2f} |" for item, why, cost in per_million()]
    lines += [
        f"| **total** | | **{sum(c for *_, c in per_million()):,.2f}** |",
        "",
        f"A month at {w.messages_per_day:,} messages a day, 10 tenants sending 80 % of them:",
        "",
        "| tenants | idle | messages | storage | proxy above floor | dedicated | **total** |",
        "|---|---|---|---|---|---|---|",
    ]
    for tenants, dedicated in ((1000, 0), (10_000, 0), (10_000, 10)):
        parts = monthly(Workload(tenants=tenants, dedicated=dedicated))
        label = f"{tenants:,}" + (f" ({dedicated} dedicated)" if dedicated else " (pooled)")
        lines.append(
            f"| {label} | " + " | ".join(f"{v:,.0f}" for v in parts.values()) + f" | **{sum(parts.values()):,.0f}** |"
        )
    lines += [
        "",
        f"A pooled tenant costs nothing of its own (a database row); a dedicated one "
        f"${TENANT_QUEUE_MONTH:.2f} a month (its queue's polling and two alarms). Amazon SES "
        f"(${Prices().ses_per_message * 1000:.2f} per 1,000) costs less below about "
        f"{ses_break_even() / 1e6:.1f} million messages a month, where the idle floor dominates; "
        "above it this deployment costs less per message (the tenants' own SMTP servers, "
        "which it sends through, are not counted).",
    ]
    return "\n".join(lines)


def write(docs: Path) -> None:
    """Put the tables into the page between its markers."""
    text = docs.read_text(encoding="utf-8")
    begin, end = "<!-- cost-model:begin -->\n", "\n<!-- cost-model:end -->"
    docs.write_text(text[: text.index(begin) + len(begin)] + render() + text[text.index(end) :], encoding="utf-8")


if __name__ == "__main__":
    if "--write" in sys.argv:
        write(Path(__file__).resolve().parents[1] / "docs" / "operations.md")
    print(render())
