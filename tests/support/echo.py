"""An HTTP server standing in for a tenant's client application: records what it is sent."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from devstack.procs import free_port


class EchoServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self.answer: dict[str, Any] = {"ok": True}
        self.answers: list[dict[str, Any]] = []  # answered first, one per POST, before ``answer``
        self.on_post: Callable[[dict[str, Any]], None] | None = None  # the client acting on a request
        self.files: dict[str, bytes] = {}
        self.delay = 0.0
        self.gets: list[dict] = []  # GET requests (downloads); POSTs are in ``requests``
        self.redirects: dict[str, str] = {}  # path -> Location of a 302
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, body: bytes) -> None:
                self.send_response(owner.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                owner.gets.append({"path": self.path, "headers": dict(self.headers)})
                if self.path in owner.redirects:
                    self.send_response(302)
                    self.send_header("Location", owner.redirects[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path in owner.files:
                    owner.serve(self)
                    return
                if self.path != "/":
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self._reply(json.dumps({"status": "ok"}).encode())

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                owner.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": raw,
                        "status": owner.status,
                        "at": time.monotonic(),
                    }
                )
                if self.path == "/mail-proxy/attachments":
                    wanted = json.loads(raw or b"{}").get("storage_path", "")
                    data = owner.files.get(wanted)
                    self.send_response(200 if data is not None else 404)
                    self.send_header("Content-Length", str(len(data or b"")))
                    self.end_headers()
                    self.wfile.write(data or b"")
                    return
                if owner.on_post is not None:
                    owner.on_post(owner.requests[-1])
                answer = owner.answers.pop(0) if owner.answers else owner.answer
                self._reply(json.dumps(answer).encode())

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                threading.Event().wait(self.delay)
            data = self.files[handler.path]
            handler.send_response(200)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:
            pass  # the client gave up (timeout tests)
        finally:
            with self.lock:
                self.in_flight -= 1

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> EchoServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
