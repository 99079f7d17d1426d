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
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from bench.cpu import CpuMeter
from bench.run import Sink, percentiles, stack_meter
from devstack.postgres import PostgresCluster
from devstack.procs import free_port, wait_until
from devstack.stack import Stack, StackOptions

TARGETS = {"create_total_s": 60.0, "idle_ratio": 2.0, "first_message_p95_ms": 1000.0}


def idle_cpu(meter: CpuMeter, seconds: float) -> dict[str, float]:
    meter.start()
    time.sleep(seconds)   # the measurement itself: what the stack spends doing nothing
    return {k: round(v, 2) for k, v in meter.stop().items()}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--idle", type=float, default=30.0)
    parser.add_argument("--deadline", type=float, default=120.0)
    parser.add_argument("--aws", default="localstack", choices=["localstack", "moto"])
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mailproxy-bench-tenants-"))
    sink = Sink(tmp, "bench-sink")
    pg = PostgresCluster(tmp / "pg", free_port()).start(fast=True)
    stack = Stack(StackOptions(api_port=free_port(), aws=args.aws, aws_port=free_port(), database_url=pg.url,
                               maildev=False, schedule_tick=60, queue_prefix="benchten", log_dir=tmp))
    session = requests.Session()
    run = uuid.uuid4().hex[:6]
    try:
        stack.start()
        session.headers["X-API-Token"] = stack.token
        meter = stack_meter(stack, pg.pgdata)

        def post(path: str, body: dict[str, Any]) -> None:
            answer = session.post(stack.api_url + path, json=body, timeout=120)
            answer.raise_for_status()

        # Warm-up, not measured: the first tick, and dispatch environments started by one
        # tenant's few messages (cold starts are bench.cold_start's), so "empty" is idle.
        post("/tenant", {"id": f"warm-{run}"})
        post("/account", {"id": "sink", "tenant_id": f"warm-{run}", "host": "127.0.0.1", "port": sink.port,
                          "use_tls": False})
        warm = sink.count()
        for i in range(40):
            post("/commands/add-messages", {"messages": [{
                "id": f"warm-{run}-{i}", "tenant_id": f"warm-{run}", "account_id": "sink",
                "from": "bench@example.com", "to": ["rcpt@example.com"], "subject": "Warm-up"}]})
        wait_until(lambda: sink.count() - warm >= 40, 120, "warm-up deliveries", interval=0.2)
        empty = idle_cpu(meter, args.idle)

        def create(i: int) -> float:
            started = time.perf_counter()
            tenant = f"t{run}-{i}"
            post("/tenant", {"id": tenant, "name": tenant})
            post("/account", {"id": "sink", "tenant_id": tenant, "host": "127.0.0.1", "port": sink.port,
                              "use_tls": False})
            return time.perf_counter() - started

        started = time.perf_counter()
        with ThreadPoolExecutor(args.threads) as pool:
            per_tenant = list(pool.map(create, range(args.tenants)))
        created = time.perf_counter() - started
        busy = idle_cpu(meter, args.idle)

        def send(i: int) -> tuple[str, float]:
            message_id = f"first-{run}-{i}"
            body = {"messages": [{"id": message_id, "tenant_id": f"t{run}-{i}", "account_id": "sink",
                                  "from": "bench@example.com", "to": ["rcpt@example.com"], "subject": "First"}]}
            sent_at = time.time()
            post("/commands/add-messages", body)
            return message_id, sent_at

        before = sink.count()
        meter.start()
        with ThreadPoolExecutor(args.threads) as pool:
            submitted = list(pool.map(send, range(args.tenants)))
        try:
            wait_until(lambda: sink.count() - before >= args.tenants, args.deadline, "every first message",
                       interval=0.2)
        except TimeoutError:
            pass
        burst_cpu = meter.stop()
        latencies = []
        for message_id, sent_at in submitted:
            arrived = sink.arrival(message_id)
            if arrived is not None:
                latencies.append(arrived - sent_at)
        empty_total, busy_total = sum(empty.values()), sum(busy.values())
        result = {
            "tenants": args.tenants, "threads": args.threads, "aws": args.aws, "idle_seconds": args.idle,
            "create_total_s": round(created, 1), "create_per_tenant": percentiles(per_tenant),
            "idle_cpu_s_empty": empty, "idle_cpu_s_with_tenants": busy,
            "idle_ratio": round(busy_total / empty_total, 2) if empty_total else None,
            "first_messages_delivered": len(latencies), "first_message_latency": percentiles(latencies)
            if latencies else None,
            # Where the CPU went while the first messages went out: ms per message, per component.
            "first_message_cpu_ms": {k: round(v / args.tenants * 1000, 2) for k, v in burst_cpu.items()},
        }
        checks = [("create_total_s", result["create_total_s"]), ("idle_ratio", result["idle_ratio"]),
                  ("first_message_p95_ms", (result["first_message_latency"] or {}).get("p95_ms"))]
        met = 0
        for name, value in checks:
            ok = value is not None and value <= TARGETS[name]
            met += ok
            print(f"{name:24} {value!s:>10}   target <= {TARGETS[name]:g}   {'met' if ok else 'NOT met'}")
        print(f"delivered {len(latencies)}/{args.tenants} first messages within {args.deadline:g}s")
        print(f"CPU ms per first message: {result['first_message_cpu_ms']}")
        print(f"idle CPU s over {args.idle:g}s: empty {empty_total:.2f} {empty}; with tenants "
              f"{busy_total:.2f} {busy}")
        print(f"bench-tenants: {met}/{len(checks)} targets met")
        results = Path(__file__).parent / "results"
        results.mkdir(exist_ok=True)
        (results / f"tenants-{args.tenants}.json").write_text(json.dumps(result, indent=2) + "\n")
    finally:
        stack.stop()
        sink.proc.stop()
        pg.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
