"""make bench: finding one message among many (docs/api.md §7.5).

A tenant with N messages (1,000,000 by default) and a neighbour with N/5, written straight
into a throwaway PostgreSQL cluster (the API would take hours to accept a million), then read
through the service and repository the API route calls, the answer serialised as the route
does: the first page of 100, pages deep behind a cursor, a search by recipient, a status
filter, a time window, one message by id with its timeline, and the unpaged v1 answer (cut
at MAILPROXY_MAX_LIST). Each figure is the median and p95 of repeated calls, in ms.

Run: python -m bench.finding [--messages N]; figures in bench/results/finding-N.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.run import percentiles
from chalicelib.adapters.database import Database
from chalicelib.config import load_settings
from chalicelib.domain import finding
from chalicelib.domain.answers import Serialized
from chalicelib.services import messages
from chalicelib.services.auth import Principal
from chalicelib.wiring import build_ports
from devstack.postgres import PostgresCluster
from devstack.procs import free_port

ADMIN = Principal(None)
RECIPIENTS = 50_000  # distinct addresses: each appears in N / 50,000 messages

FILL = """
INSERT INTO messages (pk, tenant_id, id, account_id, priority, batch_code, payload, status,
                      sent_ts, deferred_ts, created_at, updated_at, recipients)
SELECT gen_random_uuid(), %(t)s, 'm' || i, 'main', i %% 4, 'batch-' || (i %% 20),
       jsonb_build_object('id', 'm' || i, 'tenant_id', %(t)s::text, 'account_id', 'main',
                          'from', 'Shop <shop@example.com>', 'to', 'user' || (i %% %(r)s) || '@example.com',
                          'subject', 'Order ' || i || ' confirmed', 'body', 'Thank you for your order.'),
       CASE WHEN i %% 10 = 0 THEN 'pending' ELSE 'sent' END,
       CASE WHEN i %% 10 = 0 THEN NULL ELSE 1700000000 + i END,
       CASE WHEN i %% 40 = 0 THEN 1900000000 END,
       to_timestamp(1700000000 + i), to_timestamp(1700000000 + i),
       ARRAY['user' || (i %% %(r)s) || '@example.com']
FROM generate_series(1, %(n)s) AS i
"""


def _fill(db: Database, tenant: str, n: int) -> None:
    with db.transaction() as conn:
        conn.execute("INSERT INTO tenants (id, name, signing_secret_enc) VALUES (%s, %s, 'x')", (tenant, tenant))
        conn.execute(
            "INSERT INTO accounts (tenant_id, id, host, port) VALUES (%s, 'main', 'smtp.example.com', 587)", (tenant,)
        )
        conn.execute(FILL, {"t": tenant, "n": n, "r": RECIPIENTS})


def _timed(call: Callable[[], dict[str, Any]], repeat: int) -> dict[str, Any]:
    times, answer, body = [], {}, ""
    for _ in range(repeat):
        started = time.perf_counter()
        answer = call()
        # As the route does: a listing carries the JSON it was measured with.
        body = answer.text if isinstance(answer, Serialized) else json.dumps(answer)
        times.append(time.perf_counter() - started)
    return {
        **percentiles(times, digits=2),
        "records": len(answer.get("messages", [answer.get("message")])),
        "bytes": len(body),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mailproxy-bench-finding-"))
    pg = PostgresCluster(tmp / "pg", free_port()).start(fast=True)
    try:
        db = Database(pg.url)
        db.migrate()
        started = time.perf_counter()
        _fill(db, "big", args.messages)
        _fill(db, "neighbour", args.messages // 5)
        with db.transaction() as conn:
            conn.execute("ANALYZE")
        filled = time.perf_counter() - started
        ports = build_ports(
            load_settings(
                {"DATABASE_URL": pg.url, "MAILPROXY_API_TOKEN": "bench", "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
            )
        )

        def page(**query: str) -> Callable[[], dict[str, Any]]:
            return lambda: messages.list_messages(ports, ADMIN, "big", False, False, finding.read(query))

        deep = page(limit="100")
        cursor = None
        for _ in range(50):  # 50 pages in: the cursor, not an offset, finds the place
            cursor = deep()["next_cursor"]
        figures = {
            "first page of 100": _timed(page(limit="100"), args.repeat),
            "page 51 of 100 (cursor)": _timed(page(limit="100", cursor=cursor or ""), args.repeat),
            "by recipient (q=address)": _timed(page(limit="100", q="USER777@example.com"), args.repeat),
            "status=pending, page of 100": _timed(page(limit="100", status="pending"), args.repeat),
            "status=deferred, page of 100": _timed(page(limit="100", status="deferred"), args.repeat),
            "since/until one day, page of 100": _timed(
                page(
                    limit="100",
                    since=str(1700000000 + args.messages // 2),
                    until=str(1700000000 + args.messages // 2 + 86400),
                ),
                args.repeat,
            ),
            "one message with its timeline": _timed(
                lambda: messages.get_message(ports, ADMIN, "big", f"m{args.messages // 2}"), args.repeat
            ),
            "unpaged v1 answer (cut at MAILPROXY_MAX_LIST)": _timed(page(), max(3, args.repeat // 10)),
        }
        result = {
            "messages": args.messages,
            "neighbour": args.messages // 5,
            "fill_seconds": round(filled, 1),
            "max_list": ports.settings.max_list,
            "figures": figures,
        }
        print(
            f"\nfinding messages: tenant with {args.messages:,} messages (+ a neighbour with "
            f"{args.messages // 5:,}), filled in {filled:.0f} s"
        )
        for name, f in figures.items():
            print(
                f"  {name:<48} p50 {f['p50_ms']:>8.2f} ms  p95 {f['p95_ms']:>8.2f} ms  "
                f"{f['records']:>6} records  {f['bytes'] / 1024:>8.1f} KiB"
            )
        results = Path(__file__).parent / "results"
        results.mkdir(exist_ok=True)
        (results / f"finding-{args.messages}.json").write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result))
    finally:
        pg.stop("immediate")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
