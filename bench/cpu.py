"""CPU per component, read from /proc: a process and all its descendants.

A tree's CPU at an instant is the sum over its live processes of utime + stime (their own)
+ cutime + cstime (their reaped children's). A child that ends between two readings moves
into its parent's cutime, so the difference of two readings is the tree's CPU in between.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int, own: bool = False) -> tuple[int, float] | None:
    """(parent pid, CPU seconds incl. reaped children, or its own alone) of one process, None if
    it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()  # after "pid (comm) "
    ppid = int(fields[1])
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return ppid, (utime + stime + (0 if own else cutime + cstime)) / _TICK


def _table() -> dict[int, tuple[int, float]]:
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            found = _stat(int(entry))
            if found is not None:
                table[int(entry)] = found
    return table


def tree_cpu(roots: Mapping[str, list[int]]) -> dict[str, float]:
    """CPU seconds so far of each named group of process trees."""
    table = _table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    out: dict[str, float] = {}
    for name, pids in roots.items():
        total, stack, seen = 0.0, list(pids), set()
        while stack:
            pid = stack.pop()
            if pid in seen or pid not in table:
                continue
            seen.add(pid)
            total += table[pid][1]
            stack.extend(children.get(pid, []))
        out[name] = total
    return out


def postmaster_pid(datadir: Path) -> int:
    return int((datadir / "postmaster.pid").read_text().split()[0])


def own_cpu(roots: Mapping[str, list[int]]) -> dict[str, float]:
    """CPU seconds so far of each group's root processes alone (not their children)."""
    return {
        name: sum(found[1] for pid in pids if (found := _stat(pid, own=True)) is not None)
        for name, pids in roots.items()
    }


class CpuMeter:
    """CPU of each component between start() and stop(); ``alone`` then holds what each
    component's root process spent itself (the runner without its function environments)."""

    def __init__(self, roots: Mapping[str, list[int]]) -> None:
        self.roots = {k: v for k, v in roots.items() if v}
        self._start: dict[str, float] = {}
        self._start_own: dict[str, float] = {}
        self.alone: dict[str, float] = {}

    def start(self) -> None:
        self._start, self._start_own = tree_cpu(self.roots), own_cpu(self.roots)

    def stop(self) -> dict[str, float]:
        end, end_own = tree_cpu(self.roots), own_cpu(self.roots)
        self.alone = {name: round(end_own[name] - self._start_own.get(name, 0.0), 3) for name in self.roots}
        return {name: round(end[name] - self._start.get(name, 0.0), 3) for name in self.roots}
