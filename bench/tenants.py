"""Many tenants on one local stack (issue 17): what creating them costs, what they cost idle,
and how fast each one's first message goes out.

On the whole local stack (LocalStack by default, the packaged functions, PostgreSQL, an SMTP
sink in its own process), in one run:
1. the empty stack idle for ``--idle`` seconds: CPU seconds per component;
2. ``--tenants`` tenants, each with one account, created through the API by ``--threads``
   clients: total time and per-tenant p50/p95;
3. the stack idle again with them: CPU seconds per component, and the ratio to the empty stack;
4. one message for each tenant, submitted by the same clients: add-to-SMTP p50/p95 and how many
   arrived within ``--deadline`` seconds.
Figures are printed beside the issue's targets and written to bench/results/tenants-N.json.

Run: python -m bench.tenants --tenants 1000   (make bench-tenants)
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

from bench.cpu import CpuMeter
from bench.run import Sink, percentiles, stack_meter, start_environments
from devstack.postgres import PostgresCluster
from devstack.procs import free_port, wait_until
from devstack.stack import Stack, StackOptions

TARGETS = {"create_total_s": 60.0, "idle_ratio": 2.0, "first_message_p95_ms": 1000.0}


def idle_cpu(meter: CpuMeter, seconds: float) -> dict[str, float]:
    meter.start()
    time.sleep(seconds)  # the measurement itself: what the stack spends doing nothing
    return {k: round(v, 2) for k, v in meter.stop().items()}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--idle", type=float, default=30.0)
    parser.add_argument("--deadline", type=float, default=120.0)
    parser.add_argument(
        "--warm-tenants",
        type=int,
        default=100,
        help="tenants whose messages start the dispatch environments before measuring",
    )
    parser.add_argument("--aws", default="localstack", choices=["localstack", "moto"])
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mailproxy-bench-tenants-"))
    sink = Sink(tmp, "bench-sink")
    pg = PostgresCluster(tmp / "pg", free_port()).start(fast=True)
    stack = Stack(
        StackOptions(
            api_port=free_port(),
            aws=args.aws,
            aws_port=free_port(),
            database_url=pg.url,
            maildev=False,
            schedule_tick=60,
            queue_prefix="benchten",
            log_dir=tmp,
        )
    )
    session = requests.Session()
    run = uuid.uuid4().hex[:6]
    try:
        stack.start()
        session.headers["X-API-Token"] = stack.token
        meter = stack_meter(stack, pg.pgdata)

        def post(path: str, body: dict[str, Any]) -> None:
            answer = session.post(stack.api_url + path, json=body, timeout=120)
            answer.raise_for_status()

        # Warm-up, not measured: the first tick, and every dispatch environment the burst will use.
        start_environments(post, sink, run, args.warm_tenants)
        empty = idle_cpu(meter, args.idle)

        def create(i: int) -> float:
            started = time.perf_counter()
            tenant = f"t{run}-{i}"
            post("/tenant", {"id": tenant, "name": tenant})
            post(
                "/account",
                {"id": "sink", "tenant_id": tenant, "host": "127.0.0.1", "port": sink.port, "use_tls": False},
            )
            return time.perf_counter() - started

        started = time.perf_counter()
        with ThreadPoolExecutor(args.threads) as pool:
            per_tenant = list(pool.map(create, range(args.tenants)))
        created = time.perf_counter() - started
        busy = idle_cpu(meter, args.idle)

        def send(i: int) -> tuple[str, float]:
            message_id = f"first-{run}-{i}"
            body = {
                "messages": [
                    {
                        "id": message_id,
                        "tenant_id": f"t{run}-{i}",
                        "account_id": "sink",
                        "from": "bench@example.com",
                        "to": ["rcpt@example.com"],
                        "subject": "First",
                    }
                ]
            }
            sent_at = time.time()
            post("/commands/add-messages", body)
            return message_id, sent_at

        before = sink.count()
        meter.start()
        burst_started = time.time()
        with ThreadPoolExecutor(args.threads) as pool:
            submitted = list(pool.map(send, range(args.tenants)))
        submit_s = time.time() - burst_started
        try:
            wait_until(
                lambda: sink.count() - before >= args.tenants, args.deadline, "every first message", interval=0.2
            )
        except TimeoutError:
            pass
        burst_cpu = meter.stop()
        latencies, last_arrival = [], burst_started
        by_tenth: list[list[float]] = [[] for _ in range(10)]
        for position, (message_id, sent_at) in enumerate(submitted):
            arrived = sink.arrival(message_id)
            if arrived is not None:
                latencies.append(arrived - sent_at)
                by_tenth[position * 10 // len(submitted)].append(arrived - sent_at)
                last_arrival = max(last_arrival, arrived)
        empty_total, busy_total = sum(empty.values()), sum(busy.values())
        result = {
            "tenants": args.tenants,
            "threads": args.threads,
            "aws": args.aws,
            "idle_seconds": args.idle,
            "create_total_s": round(created, 1),
            "create_per_tenant": percentiles(per_tenant),
            "idle_cpu_s_empty": empty,
            "idle_cpu_s_with_tenants": busy,
            "idle_ratio": round(busy_total / empty_total, 2) if empty_total else None,
            "first_messages_delivered": len(latencies),
            "first_message_latency": percentiles(latencies) if latencies else None,
            # Where the CPU went while the first messages went out: ms per message, per component.
            "first_message_cpu_ms": {k: round(v / args.tenants * 1000, 2) for k, v in burst_cpu.items()},
            # Of which the root processes alone: the runner's pollers, the gateway (not their
            # function environments), PostgreSQL's postmaster, the endpoint's main process.
            "first_message_cpu_ms_roots_alone": {k: round(v / args.tenants * 1000, 2) for k, v in meter.alone.items()},
            # The burst's shape: a latency that grows along the submissions is a throughput
            # deficit; a flat one is a fixed delay somewhere on the path.
            "submit_s": round(submit_s, 2),
            "last_delivery_s": round(last_arrival - burst_started, 2),
            "p50_ms_by_tenth_of_submissions": [round(sorted(t)[len(t) // 2] * 1000) if t else None for t in by_tenth],
        }
        checks = [
            ("create_total_s", result["create_total_s"]),
            ("idle_ratio", result["idle_ratio"]),
            ("first_message_p95_ms", (result["first_message_latency"] or {}).get("p95_ms")),
        ]
        met = 0
        for name, value in checks:
            ok = value is not None and value <= TARGETS[name]
            met += ok
            print(f"{name:24} {value!s:>10}   target <= {TARGETS[name]:g}   {'met' if ok else 'NOT met'}")
        print(f"delivered {len(latencies)}/{args.tenants} first messages within {args.deadline:g}s")
        print(f"CPU ms per first message: {result['first_message_cpu_ms']}")
        print(f"of which the root processes alone: {result['first_message_cpu_ms_roots_alone']}")
        print(
            f"submitted in {result['submit_s']} s, last delivered at {result['last_delivery_s']} s; p50 ms by "
            f"tenth of submissions: {result['p50_ms_by_tenth_of_submissions']}"
        )
        print(f"idle CPU s over {args.idle:g}s: empty {empty_total:.2f} {empty}; with tenants {busy_total:.2f} {busy}")
        print(f"bench-tenants: {met}/{len(checks)} targets met")
        results = Path(__file__).parent / "results"
        results.mkdir(exist_ok=True)
        (results / f"tenants-{args.tenants}.json").write_text(json.dumps(result, indent=2) + "\n")
    finally:
        stack.stop()
        sink.proc.stop()
        pg.stop()
        shutil.rmtree(tmp / "pg", ignore_errors=True)  # the logs stay
    return 0


if __name__ == "__main__":
    sys.exit(main())
