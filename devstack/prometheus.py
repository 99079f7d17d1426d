"""A real Prometheus server (Debian's ``prometheus`` package) scraping a stack's /metrics, with
the repository's alert rules loaded, queried over its HTTP API; and ``make monitor``: one for
the running ``make dev`` stack that prints what every dashboard panel's query answers.

Run: python -m devstack.prometheus [--api URL] [--port 9090]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from devstack.procs import ROOT, Process, free_port, port_open, wait_until

RULES = ROOT / "infra" / "monitoring" / "alerts.yml"
DASHBOARD = RULES.parent / "dashboard.json"


def binary(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} not found: `make deps` installs Debian's prometheus package")
    return found


class Prometheus:
    def __init__(self, target: str, workdir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.workdir = workdir
        config = workdir / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            f"rule_files: ['{RULES}']\n"
            "scrape_configs:\n"
            f"  - job_name: mail-proxy\n    static_configs: [{{targets: ['{target}']}}]\n"
        )
        self.proc = Process(
            "prometheus",
            [
                binary("prometheus"),
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            log_dir=workdir,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Prometheus:
        self.proc.start()
        wait_until(
            lambda: port_open(self.port) and requests.get(f"{self.url}/-/ready", timeout=2).ok, 60, "prometheus ready"
        )
        return self

    def stop(self) -> None:
        self.proc.stop()

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        params: dict[str, str | float] = {"query": expr, "time": at or time.time()}
        answer = requests.get(f"{self.url}/api/v1/query", params=params, timeout=10).json()
        if answer["status"] != "success":
            raise ValueError(f"{expr}: {answer}")
        return list(answer["data"]["result"])

    def get(self, path: str) -> Any:
        return requests.get(f"{self.url}/api/v1{path}", timeout=10).json()["data"]


def dashboard_queries(tenant: str = ".*", rate_interval: str = "1m", range_: str = "5m") -> list[tuple[str, str]]:
    """(panel title, PromQL) of every panel of the dashboard, its variables filled in."""
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        (
            panel["title"],
            target["expr"]
            .replace("$tenant", tenant)
            .replace("$__rate_interval", rate_interval)
            .replace("$__range", range_),
        )
        for panel in dashboard["panels"]
        for target in panel["targets"]
    ]


def _shown(result: list[dict[str, Any]]) -> str:
    if not result:
        return "(no data yet)"
    parts = []
    for series in result[:4]:
        labels = ",".join(f"{k}={v}" for k, v in series["metric"].items() if k not in ("__name__", "job", "instance"))
        parts.append(f"{labels or 'value'}={float(series['value'][1]):.4g}")
    return "; ".join(parts) + (f"; … {len(result) - 4} more" if len(result) > 4 else "")


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(
        description="Prometheus on the running make dev stack, with the dashboard's queries printed"
    )
    parser.add_argument("--api", default=os.environ.get("API", "http://127.0.0.1:8000"))
    parser.add_argument("--port", type=int, default=9090)
    args = parser.parse_args()
    # SIGTERM (a process manager, a test's terminate()) stops it as Ctrl-C does: without this
    # the interpreter died at once and left the Prometheus server running.
    signal.signal(signal.SIGTERM, _interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="mailproxy-prometheus-"))
    server = Prometheus(args.api.removeprefix("http://").rstrip("/"), workdir, args.port).start()
    try:
        wait_until(lambda: bool(server.query('up{job="mail-proxy"} == 1')), 30, "a first scrape of /metrics")
        time.sleep(2)  # a second scrape, so that rates have two points
        print(f"Prometheus {server.url} scrapes {args.api}/metrics every second (rules: {RULES.name})")
        for title, expr in dashboard_queries():
            print(f"  {title:<40} {_shown(server.query(expr))}")
        print(f"Browse {server.url}/graph and {server.url}/alerts; Ctrl-C stops it.")
        while server.proc.alive():
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
