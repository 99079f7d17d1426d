"""make bench: end-to-end dispatch rate and latency, against raw aiosmtplib in the same run.

1. Baseline: raw aiosmtplib, 8 connections, into an aiosmtpd sink in its own process.
2. Mail Proxy: N messages through the local stack (LocalStack endpoint, PostgreSQL,
   the API Gateway stand-in and the function runner running the package) into the same sink.
3. Latency: add-messages -> SMTP arrival of single messages on the idle stack.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiosmtplib
import requests

from chalicelib.domain.mime import build_mime
from devstack.postgres import PostgresCluster
from devstack.procs import Process, free_port, port_open, wait_until
from devstack.stack import Stack, StackOptions


def sink_count(http: str) -> int:
    return int(requests.get(f"{http}/stats", timeout=5).json()["count"])


def sample(i: int) -> dict:
    return {"id": f"bench-{i}-{uuid.uuid4().hex[:6]}", "from": "Bench <bench@example.com>",
            "to": ["rcpt@example.com"], "subject": f"Benchmark message {i}",
            "body": "Lorem ipsum dolor sit amet. " * 20}


async def raw_baseline(port: int, count: int, connections: int) -> float:
    from datetime import UTC, datetime
    data = [build_mime(sample(i), [], datetime.now(UTC)).as_bytes() for i in range(count)]
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for item in data:
        queue.put_nowait(item)

    async def worker() -> None:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await smtp.connect()
        while not queue.empty():
            await smtp.sendmail("bench@example.com", ["rcpt@example.com"], queue.get_nowait())
        await smtp.quit()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return count / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--aws", default="localstack", choices=["localstack", "moto"])
    parser.add_argument("--latency-samples", type=int, default=30)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mailproxy-bench-"))
    smtp_port, http_port = free_port(), free_port()
    sink = Process("bench-sink", [sys.executable, "-m", "bench.sink", "--smtp-port", str(smtp_port),
                                  "--http-port", str(http_port)], log_dir=tmp).start()
    http = f"http://127.0.0.1:{http_port}"
    pg = PostgresCluster(tmp / "pg", free_port()).start(fast=True)
    stack = Stack(StackOptions(api_port=free_port(), aws=args.aws, aws_port=free_port(),
                               database_url=pg.url, maildev=False, schedule_tick=5,
                               queue_prefix="bench", log_dir=tmp))
    try:
        wait_until(lambda: port_open(smtp_port) and sink_count(http) == 0, 30, "bench sink")
        raw_rate = asyncio.run(raw_baseline(smtp_port, args.messages, 8))
        stack.start()
        api = requests.Session()
        api.headers["X-API-Token"] = stack.token
        base = stack.api_url

        def post(path: str, body: dict) -> dict:
            response = api.post(base + path, json=body, timeout=120)
            response.raise_for_status()
            return dict(response.json())

        post("/tenant", {"id": "bench", "name": "Benchmark"})
        post("/account", {"id": "sink", "tenant_id": "bench", "host": "127.0.0.1", "port": smtp_port,
                          "use_tls": False})
        before = sink_count(http)
        messages = [{**sample(i), "tenant_id": "bench", "account_id": "sink"} for i in range(args.messages)]
        started = time.perf_counter()
        for chunk in range(0, len(messages), 1000):
            post("/commands/add-messages", {"messages": messages[chunk:chunk + 1000]})
        submitted = time.perf_counter() - started
        wait_until(lambda: sink_count(http) - before >= args.messages, 1800, "all deliveries", interval=0.05)
        elapsed = time.perf_counter() - started
        rate = args.messages / elapsed

        latencies = []
        for i in range(args.latency_samples):
            msg = {**sample(10_000_000 + i), "tenant_id": "bench", "account_id": "sink"}
            t0 = time.time()
            post("/commands/add-messages", {"messages": [msg]})
            arrival: dict = {}

            def arrived(mid: str = msg["id"], out: dict = arrival) -> bool:
                response = requests.get(f"{http}/arrival/{mid}", timeout=5)
                if response.status_code == 200:
                    out.update(response.json())
                    return True
                return False

            wait_until(arrived, 30, "single message", interval=0.01)
            latencies.append(arrival["t"] - t0)
        latencies.sort()
        p50 = statistics.median(latencies)
        p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
        result = {
            "messages": args.messages, "aws": args.aws,
            "submit_seconds": round(submitted, 2),
            "delivered_per_s": round(rate, 1),
            "raw_aiosmtplib_8conn_per_s": round(raw_rate, 1),
            "ratio": round(rate / raw_rate, 3),
            "latency_p50_s": round(p50, 3), "latency_p95_s": round(p95, 3),
        }
        print(f"""
Mail Proxy benchmark ({args.messages} messages, AWS endpoint: {args.aws})
  delivered end to end     {rate:8.1f} msg/s  (submit took {submitted:.2f}s)
  raw aiosmtplib, 8 conns  {raw_rate:8.1f} msg/s  (same sink, same run)
  ratio                    {rate / raw_rate:8.3f}
  add -> SMTP latency      p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms
                           ({len(latencies)} single messages, idle stack)
""")
        print(json.dumps(result))
        results = Path(__file__).parent / "results"
        results.mkdir(exist_ok=True)
        (results / f"bench-{args.messages}.json").write_text(json.dumps(result, indent=2))
    finally:
        stack.stop()
        pg.stop("immediate")
        sink.stop()
        shutil.rmtree(tmp / "pg", ignore_errors=True)  # logs stay for a look
    return 0


if __name__ == "__main__":
    sys.exit(main())
