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
print(elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def measure(code: str, runs: int = 5) -> tuple[float, float]:
    times, peaks = [], []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", _PROBE.format(code=code)], capture_output=True, text=True,
                             check=True, env={"PATH": "/usr/bin:/bin", "MAILPROXY_API_TOKEN": "bench"}).stdout
        elapsed, peak = out.split()
        times.append(float(elapsed))
        peaks.append(float(peak) / 1024)  # ru_maxrss is KiB on Linux
    return statistics.median(times), statistics.median(peaks)


def main() -> int:
    results = {name: measure(code) for name, code in ENTRY_POINTS.items()}
    _, base_mem = results["baseline (bare python)"]
    base_time, _ = results["baseline (import boto3)"]
    print("\nCold start (median of 5 fresh interpreters)")
    print(f"  {'entry point':34} {'import s':>9} {'x boto3':>8} {'peak MiB':>9} {'x bare':>7}")
    for name, (seconds, mem) in results.items():
        print(f"  {name:34} {seconds:9.3f} {seconds / base_time:8.2f} {mem:9.1f} {mem / base_mem:7.2f}")
    print(json.dumps({name: {"import_s": round(s, 3), "peak_mib": round(m, 1)} for name, (s, m) in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
