"""MailDev (npm maildev@3) as the local mail catcher: SMTP in, web UI and /api/email out."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import requests

from devstack.procs import ROOT, Process, StartFailed, port_open, wait_until

MAILDEV_BIN = ROOT / ".local" / "node" / "node_modules" / "maildev" / "dist" / "bin" / "maildev.js"


class MailDevClient:
    """MailDev's HTTP API."""

    def __init__(self, url: str) -> None:
        self.url = url

    def healthy(self) -> bool:
        return requests.get(f"{self.url}/api/email", timeout=2).status_code == 200

    def emails(self) -> list[dict]:
        response = requests.get(f"{self.url}/api/email", timeout=5)
        response.raise_for_status()
        return list(response.json())

    def by_mail_id(self, mail_id: str) -> list[dict]:
        return [e for e in self.emails() if e.get("headers", {}).get("x-genro-mail-id") == mail_id]


class MailDev:
    def __init__(self, smtp_port: int, web_port: int, log_dir: Path | None = None, name: str = "maildev") -> None:
        node = shutil.which("node")
        if node is None or not MAILDEV_BIN.exists():
            raise FileNotFoundError("MailDev missing: run 'make deps'")
        self.smtp_port = smtp_port
        self.web_port = web_port
        self.url = f"http://127.0.0.1:{web_port}"
        self.client = MailDevClient(self.url)
        # A directory of its own: without one MailDev keeps mail in $TMPDIR/maildev, shared by
        # every MailDev on the machine, and two stacks prune each other's mail.
        self.mail_dir = Path(tempfile.mkdtemp(prefix=f"{name}-mail-", dir=log_dir))
        self.proc = Process(
            name,
            [
                node,
                str(MAILDEV_BIN),
                "--ip",
                "127.0.0.1",
                "--web-ip",
                "127.0.0.1",
                "-s",
                str(smtp_port),
                "-w",
                str(web_port),
                "--mail-directory",
                str(self.mail_dir),
            ],
            env=dict(os.environ),
            log_dir=log_dir,
        )

    def start(self) -> MailDev:
        self.proc.start()
        wait_until(lambda: port_open(self.smtp_port) and self.healthy(), 60, "MailDev")
        return self

    def healthy(self) -> bool:
        if not self.proc.alive():
            raise StartFailed("MailDev exited:\n" + self.proc.tail())
        return self.client.healthy()

    def stop(self) -> None:
        self.proc.stop()
