"""A real Prometheus server (Debian's ``prometheus`` package) scraping a stack's /metrics, with
the repository's alert rules loaded; queried over its HTTP API."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import requests

from devstack.procs import Process, free_port, port_open, wait_until

RULES = Path(__file__).resolve().parents[2] / "infra" / "monitoring" / "alerts.yml"


def binary(name: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} not found: `make deps` installs Debian's prometheus package"
    return found


class Prometheus:
    def __init__(self, target: str, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        config = workdir / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            f"rule_files: ['{RULES}']\n"
            "scrape_configs:\n"
            f"  - job_name: mail-proxy\n    static_configs: [{{targets: ['{target}']}}]\n")
        self.proc = Process("prometheus", [
            binary("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}"], log_dir=workdir)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Prometheus:
        self.proc.start()
        wait_until(lambda: port_open(self.port) and requests.get(f"{self.url}/-/ready", timeout=2).ok,
                   60, "prometheus ready")
        return self

    def stop(self) -> None:
        self.proc.stop()

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        answer = requests.get(f"{self.url}/api/v1/query", params={"query": expr, "time": at or time.time()},
                              timeout=10).json()
        assert answer["status"] == "success", (expr, answer)
        return list(answer["data"]["result"])

    def get(self, path: str) -> Any:
        return requests.get(f"{self.url}/api/v1{path}", timeout=10).json()["data"]
