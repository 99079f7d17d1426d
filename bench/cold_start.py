"""Cold start of every function: import time and peak memory in a fresh interpreter, as
ratios to baselines measured in the same run: the import of boto3 alone (the floor of any
Python Lambda that talks to AWS) for time, a bare interpreter for memory.

Run: python -m bench.cold_start
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

ENTRY_POINTS = {
    "baseline (bare python)": "pass",
    "baseline (import boto3)": "import boto3",
    "api (app.py)": "import app",
    "dispatch (functions.dispatch)": "import functions.dispatch",
    "scheduler (functions.scheduler)": "import functions.scheduler",
}
_PROBE = """
import resource, time
t0 = time.perf_counter()
{code}
elapsed = time.perf_counter() - t0
print("COLD", elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def probe(code: str) -> tuple[float, float]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(code=code)],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "MAILPROXY_API_TOKEN": "bench"},
    ).stdout
    # The entry points may log at import (JSON lines on stdout): the figures are the marked line.
    _, elapsed, peak = next(line for line in out.splitlines() if line.startswith("COLD ")).split()
    return float(elapsed), float(peak) / 1024  # ru_maxrss is KiB on Linux


def measure(rounds: int = 9) -> dict[str, tuple[float, float]]:
    """Best of ``rounds`` per entry point, the entry points taken in turn within each round:
    the machine's speed drifts (a shared host), and drift then touches all of them alike."""
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in ENTRY_POINTS}
    for _ in range(rounds):
        for name, code in ENTRY_POINTS.items():
            samples[name].append(probe(code))
    return {name: (min(t for t, _ in runs), statistics.median(m for _, m in runs)) for name, runs in samples.items()}


def main() -> int:
    results = measure()
    _, base_mem = results["baseline (bare python)"]
    base_time, _ = results["baseline (import boto3)"]
    print("\nCold start (best of 9 fresh interpreters, entry points in turn; memory: median)")
    print(f"  {'entry point':34} {'import s':>9} {'x boto3':>8} {'peak MiB':>9} {'x bare':>7}")
    for name, (seconds, mem) in results.items():
        print(f"  {name:34} {seconds:9.3f} {seconds / base_time:8.2f} {mem:9.1f} {mem / base_mem:7.2f}")
    print(json.dumps({name: {"import_s": round(s, 3), "peak_mib": round(m, 1)} for name, (s, m) in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
