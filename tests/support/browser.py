"""Debian's headless Chromium, made to send every request through a recording proxy that
forwards to 127.0.0.1 only: a page test sees each URL the page asked for, and nothing
reaches another host."""

from __future__ import annotations

import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import requests

from devstack.procs import free_port

QUIET = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--metrics-recording-only",
    "--disable-client-side-phishing-detection",
    "--hide-scrollbars",
    "--no-pings",
    "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate",
]


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class RecordingProxy:
    port: int = field(default_factory=free_port)
    asked: list[str] = field(default_factory=list)  # every URL, in order
    refused: list[str] = field(default_factory=list)  # those that were not for 127.0.0.1
    # Refused requests a page made (a Referer names the page): Chromium's own background
    # services (updates, network time) carry none and are refused all the same.
    refused_for_pages: list[str] = field(default_factory=list)

    def start(self) -> RecordingProxy:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.asked.append(self.path)
                if urlsplit(self.path).hostname != "127.0.0.1":
                    owner.refused.append(self.path)
                    if self.headers.get("Referer"):
                        owner.refused_for_pages.append(f"{self.path} (from {self.headers['Referer']})")
                    self.send_error(403)
                    return
                answer = requests.get(self.path, headers={"Accept": self.headers.get("Accept", "*/*")}, timeout=30)
                try:
                    self.send_response(answer.status_code)
                    self.send_header("Content-Type", answer.headers.get("Content-Type", "application/octet-stream"))
                    self.send_header("Content-Length", str(len(answer.content)))
                    self.end_headers()
                    self.wfile.write(answer.content)
                except OSError:  # the browser went away (its time budget ended)
                    pass

            def do_CONNECT(self) -> None:  # TLS to anywhere: nothing of ours speaks it
                owner.asked.append(self.path)
                owner.refused.append(self.path)
                if self.headers.get("Referer"):
                    owner.refused_for_pages.append(self.path)
                self.send_error(403)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def browse(self, url: str, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
        binary = chromium()
        assert binary, "chromium is a Debian package make test installs"
        argv = [
            binary,
            *QUIET,
            f"--user-data-dir={out.parent / 'chromium-profile'}",
            f"--proxy-server=http://127.0.0.1:{self.port}",
            "--proxy-bypass-list=<-loopback>",
            "--virtual-time-budget=20000",
            "--window-size=1280,1800",
            *extra,
            url,
        ]
        return subprocess.run(argv, capture_output=True, text=True, timeout=120)
