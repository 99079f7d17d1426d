"""The local stack's dead man's switch.

``make dev`` starts each child in its own session, so that stopping one stops its whole process
group; the price is that the children outlive ``make dev`` if it is killed outright (SIGKILL,
a closed terminal). This process reads a pipe whose write end only ``make dev`` holds. Each
child announces itself on it (``group <pgid>``, or for a daemon such as PostgreSQL
``run<TAB>argv<TAB>...``, the command that stops it); ``done`` ends the watch after a clean stop.
End of file without ``done`` means ``make dev`` died: the stop commands run, every announced
process group gets SIGTERM (then SIGKILL).

Run by ``devstack.dev``: ``python -m devstack.watchdog`` in its own session.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time


def _alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _signal(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_all(groups: list[int], commands: list[list[str]], grace: float = 10.0) -> None:
    for pgid in groups:
        _signal(pgid, signal.SIGTERM)
    for argv in commands:
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, timeout=60)
    deadline = time.monotonic() + grace
    while any(_alive(g) for g in groups) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pgid in groups:
        _signal(pgid, signal.SIGKILL)


def main() -> int:
    # Ctrl-C reaches make dev's whole process group; this one is in its own session anyway,
    # and must not die before it has read the end of the pipe.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    groups: list[int] = []
    commands: list[list[str]] = []
    for line in sys.stdin:
        text = line.rstrip("\n")
        if text == "done":
            return 0
        if text.startswith("group "):
            groups.append(int(text.split()[1]))
        elif text.startswith("run\t"):
            commands.append(text.split("\t")[1:])
    stop_all(groups, commands)
    return 0


class Watchdog:
    """make dev's end of the pipe: ``announce`` each child; ``release`` after a clean stop."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "devstack.watchdog"], stdin=subprocess.PIPE, text=True, start_new_session=True
        )

    def announce(self, line: str) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(line + "\n")
        self._proc.stdin.flush()

    def release(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write("done\n")
        self._proc.stdin.close()
        self._proc.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
