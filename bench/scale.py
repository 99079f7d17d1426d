"""make bench-scale: ten thousand tenants, ten million messages (issue 17), in one run.

The stack half, on the whole local stack (LocalStack, the packaged functions, PostgreSQL, an
SMTP sink in its own process):
1. the empty stack idle for --idle seconds: CPU seconds per component;
2. --tenants tenants with two accounts each, created through the API by --threads clients:
   total time and per-tenant p95;
3. the stack idle again with them: CPU seconds, and the ratio to the empty stack;
4. one message for each of --quiet tenants at once, on the idle stack, then again while one
   tenant drains --backlog messages: the quiet tenants' add -> SMTP p50/p95 both times.
The database half (bench/scale_db.py): a database of its own filled to each of --sizes
messages, each background tick and request path measured at each size.

Every figure is printed beside its target, the run ends with "bench-scale: K/N targets met",
and everything is written to bench/results/scale.json.

Run: python -m bench.scale   (make bench-scale; --quick for a small trial of the same steps)
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from bench.run import Sink, percentiles, stack_meter, start_environments
from bench.scale_db import ScaleDatabase
from bench.tenants import idle_cpu
from chalicelib import limits
from devstack.aws import LocalStack
from devstack.postgres import PostgresCluster
from devstack.procs import free_port, wait_until
from devstack.stack import Stack, StackOptions

RESULTS = Path(__file__).parent / "results"


class Api:
    def __init__(self, stack: Stack) -> None:
        self.url = stack.api_url
        self.session = requests.Session()
        self.session.headers["X-API-Token"] = stack.token

    def post(self, path: str, body: dict[str, Any]) -> None:
        answer = self.session.post(self.url + path, json=body, timeout=120)
        answer.raise_for_status()


def message(tenant: str, mail_id: str) -> dict[str, Any]:
    return {
        "id": mail_id,
        "tenant_id": tenant,
        "account_id": "a",
        "from": "bench@example.com",
        "to": ["rcpt@example.com"],
        "subject": "Scale",
    }


def burst(api: Api, sink: Sink, tenants: list[str], label: str, threads: int, deadline: float) -> dict[str, Any]:
    """One message for each tenant, submitted at once; add -> SMTP per message."""

    def send(tenant: str) -> tuple[str, float]:
        mail_id = f"{label}-{tenant}"
        sent_at = time.time()
        api.post("/commands/add-messages", {"messages": [message(tenant, mail_id)]})
        return mail_id, sent_at

    with ThreadPoolExecutor(threads) as pool:
        submitted = list(pool.map(send, tenants))
    arrived: dict[str, float] = {}

    wanted = {mail_id for mail_id, _ in submitted}

    def all_arrived() -> bool:
        arrived.update((k, t) for k, t in sink.arrivals().items() if k in wanted)
        return len(arrived) == len(submitted)

    try:
        wait_until(all_arrived, deadline, f"{label} messages", interval=0.5)
    except TimeoutError:
        pass
    latencies = [arrived[m] - t for m, t in submitted if m in arrived]
    return {"delivered": len(latencies), "of": len(submitted), **(percentiles(latencies) if latencies else {})}


def stack_half(args: argparse.Namespace, stack: Stack, sink: Sink, pg: PostgresCluster) -> dict[str, Any]:
    run = uuid.uuid4().hex[:6]
    out: dict[str, Any] = {}
    stack.start()
    api = Api(stack)
    meter = stack_meter(stack, pg.pgdata)
    # Warm-up, not measured: the first tick and every dispatch environment (cold starts are
    # bench.cold_start's; here they were most of the quiet tenants' idle latency).
    start_environments(api.post, sink, run)
    out["idle_cpu_s_empty"] = idle_cpu(meter, args.idle)

    tenants = [f"s{run}-{i}" for i in range(args.tenants)]

    def create(tenant: str) -> float:
        started = time.perf_counter()
        api.post("/tenant", {"id": tenant, "name": tenant})
        for account in ("a", "b"):
            api.post(
                "/account",
                {"id": account, "tenant_id": tenant, "host": "127.0.0.1", "port": sink.port, "use_tls": False},
            )
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(args.threads) as pool:
        per_tenant = list(pool.map(create, tenants))
    out["create_total_s"] = round(time.perf_counter() - started, 1)
    out["create_per_tenant"] = percentiles(per_tenant)
    out["idle_cpu_s_with_tenants"] = idle_cpu(meter, args.idle)
    empty, busy = sum(out["idle_cpu_s_empty"].values()), sum(out["idle_cpu_s_with_tenants"].values())
    out["idle_ratio"] = round(busy / empty, 2) if empty else None

    quiet = tenants[1 : args.quiet + 1]
    out["quiet_idle"] = burst(api, sink, quiet, f"idle-{run}", args.threads, args.deadline)
    drainer = tenants[0]
    before = sink.count()
    for chunk in range(0, args.backlog, 1000):
        api.post(
            "/commands/add-messages",
            {
                "messages": [
                    message(drainer, f"backlog-{run}-{i}") for i in range(chunk, min(args.backlog, chunk + 1000))
                ]
            },
        )
    wait_until(lambda: sink.count() - before >= 200, 300, "the backlog draining", interval=0.2)
    out["quiet_during_backlog"] = burst(api, sink, quiet, f"busy-{run}", args.threads, args.deadline)
    out["backlog_left_after_quiet"] = args.backlog - (sink.count() - before - out["quiet_during_backlog"]["delivered"])
    return out


def database_half(args: argparse.Namespace, pg: PostgresCluster, aws_url: str) -> dict[str, Any]:
    scale = ScaleDatabase(pg.create_database("scale"), aws_url)
    out: dict[str, Any] = {"seed_tenants_s": round(scale.seed_tenants(), 1), "sizes": []}
    for position, size in enumerate(args.sizes):
        grown = scale.grow(size)
        figures = scale.measure(whole_retention_run=position == len(args.sizes) - 1)
        figures["seed_s"] = round(grown, 1)
        out["sizes"].append(figures)
        print(f"  {size:>11,} messages: {json.dumps(figures)}", flush=True)
    scale.close()
    return out


def judge(result: dict[str, Any]) -> list[tuple[str, Any, str, bool]]:
    """(figure, value, target, met) for every target."""
    checks: list[tuple[str, Any, str, bool]] = []

    def check(name: str, value: Any, target: str, ok: bool) -> None:
        checks.append((name, value, target, bool(ok) and value is not None))

    stack = result.get("stack")
    if stack is not None:
        _judge_stack(stack, check)
    _judge_database(result, check)
    return checks


def _judge_stack(stack: dict[str, Any], check: Any) -> None:
    check("create tenants x 2 accounts (s)", stack["create_total_s"], "<= 300", stack["create_total_s"] <= 300)
    check("idle CPU with tenants / empty", stack["idle_ratio"], "<= 2", (stack["idle_ratio"] or 99) <= 2)
    idle_p95 = stack["quiet_idle"].get("p95_ms")
    busy_p95 = stack["quiet_during_backlog"].get("p95_ms")
    check(
        "quiet tenants p95 under a backlog (ms)",
        busy_p95,
        f"<= 2 x idle ({idle_p95})",
        idle_p95 is not None
        and busy_p95 is not None
        and busy_p95 <= 2 * idle_p95
        and stack["quiet_during_backlog"]["delivered"] == stack["quiet_during_backlog"]["of"],
    )


def _judge_database(result: dict[str, Any], check: Any) -> None:
    sizes = result["database"]["sizes"]
    small, large = sizes[0], sizes[-1]
    run_limit = limits.RETENTION_TIMEOUT * 0.2
    check(
        "retention rows per one-minute run",
        large.get("retention_run_rows"),
        ">= 7,000",
        (large.get("retention_run_rows") or 0) >= 7000,
    )
    check(
        "retention run (s)",
        large.get("retention_run_s"),
        f"<= {run_limit:g} (20 % of timeout)",
        (large.get("retention_run_s") or 1e9) <= run_limit + 1,
    )
    tick_limit = limits.SCHEDULED_TIMEOUT * 0.2
    for tick in ("retry", "reports"):
        check(
            f"{tick} tick, {large['messages']:,} messages (s)",
            large[f"{tick}_tick_s"],
            f"<= {tick_limit:g} (20 % of timeout)",
            large[f"{tick}_tick_s"] <= tick_limit,
        )
        check(
            f"{tick} tick records per run",
            large[f"{tick}_tick_records"],
            f"= {limits.TICK_TENANTS}",
            large[f"{tick}_tick_records"] == min(limits.TICK_TENANTS, 10_000),
        )
    for figure in (
        "retention_ms_per_1000",
        "retry_tick_s",
        "reports_tick_s",
        "claim_50_best_ms",
        "page_100_best_ms",
        "deferred_claim_50_best_ms",
        "deferred_probe_best_ms",
        "suspended_claim_50_best_ms",
        "suspended_probe_best_ms",
    ):
        ratio = round(large[figure] / small[figure], 2) if small[figure] else None
        check(
            f"{figure}: {large['messages']:,} vs {small['messages']:,}",
            ratio,
            "<= 2 (no growth with the table)",
            ratio is not None and ratio <= 2,
        )
    metrics = large["metrics"]
    check(
        "/metrics largest answer (bytes)",
        metrics["largest_bytes"],
        f"<= {limits.METRICS_ANSWER_BYTES:,}",
        metrics["largest_bytes"] <= limits.METRICS_ANSWER_BYTES,
    )
    check(
        "/metrics largest shard (s)",
        metrics["largest_shard_s"],
        f"<= {limits.API_TIMEOUT / 3:g}",
        metrics["largest_shard_s"] <= limits.API_TIMEOUT / 3,
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--idle", type=float, default=60.0)
    parser.add_argument("--quiet", type=int, default=1000)
    parser.add_argument("--backlog", type=int, default=20_000)
    parser.add_argument("--deadline", type=float, default=300.0)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 3_000_000, 10_000_000])
    parser.add_argument("--quick", action="store_true", help="a small trial: 300 tenants, 100k/300k messages")
    parser.add_argument("--database-only", action="store_true", help="the database half alone")
    args = parser.parse_args()
    if args.quick:
        args.tenants, args.idle, args.quiet, args.backlog, args.sizes = 300, 10.0, 100, 2000, [100_000, 300_000]
    tmp = Path(tempfile.mkdtemp(prefix="mailproxy-bench-scale-"))
    pg = PostgresCluster(tmp / "pg", free_port()).start(fast=True)
    started = time.perf_counter()
    result: dict[str, Any] = {"tenants": args.tenants, "sizes": args.sizes}
    if args.database_only:
        endpoint = LocalStack(free_port(), log_dir=tmp).start()
        try:
            result["database"] = database_half(args, pg, endpoint.url)
        finally:
            endpoint.stop()
            pg.stop("immediate")
            shutil.rmtree(tmp / "pg", ignore_errors=True)  # 8 GB at 10 M messages; the logs stay
        return finish(args, result, started)
    sink = Sink(tmp, "scale-sink")
    stack = Stack(
        StackOptions(
            api_port=free_port(),
            aws="localstack",
            aws_port=free_port(),
            database_url=pg.create_database("stack"),
            maildev=False,
            schedule_tick=60,
            queue_prefix="benchscale-stack",
            log_dir=tmp,
        )
    )
    try:
        print(f"bench-scale: the stack with {args.tenants:,} tenants x 2 accounts", flush=True)
        result["stack"] = stack_half(args, stack, sink, pg)
        print(json.dumps(result["stack"]), flush=True)
        if stack.runner is not None:
            stack.runner.stop()  # the database half keeps only the AWS endpoint of the stack
        print(f"bench-scale: the database at {', '.join(f'{s:,}' for s in args.sizes)} messages", flush=True)
        result["database"] = database_half(args, pg, stack.aws_url)
    finally:
        stack.stop()
        sink.proc.stop()
        pg.stop("immediate")
        shutil.rmtree(tmp / "pg", ignore_errors=True)
    return finish(args, result, started)


def finish(args: argparse.Namespace, result: dict[str, Any], started: float) -> int:
    result["minutes"] = round((time.perf_counter() - started) / 60, 1)
    checks = judge(result)
    result["targets"] = [{"figure": n, "value": v, "target": t, "met": ok} for n, v, t, ok in checks]
    print()
    for name, value, target, ok in checks:
        print(f"{name:52} {value!s:>12}   target {target:34} {'met' if ok else 'NOT met'}")
    met = sum(ok for *_, ok in checks)
    print(f"bench-scale: {met}/{len(checks)} targets met ({result['minutes']} min)")
    RESULTS.mkdir(exist_ok=True)
    name = "scale-quick" if args.quick else "scale-database" if args.database_only else "scale"
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
