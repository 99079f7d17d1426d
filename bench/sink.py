"""An aiosmtpd sink in its own process: counts messages, records arrival times by mail id.

Run: python -m bench.sink --smtp-port P --http-port Q
GET /stats -> {"count": n}; GET /arrival/<mail id> -> {"t": unix seconds} or 404;
GET /arrivals -> {mail id: unix seconds} of every message so far.
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

_ID = re.compile(rb"^X-Genro-Mail-ID: (.+?)\r?$", re.MULTILINE | re.IGNORECASE)


class Counter:
    def __init__(self) -> None:
        self.count = 0
        self.arrivals: dict[str, float] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        now = time.time()
        match = _ID.search(envelope.content)  # type: ignore[attr-defined]
        with self.lock:
            self.count += 1
            if match:
                self.arrivals[match.group(1).decode()] = now
        return "250 OK"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smtp-port", type=int, required=True)
    parser.add_argument("--http-port", type=int, required=True)
    args = parser.parse_args()
    counter = Counter()
    controller = Controller(counter, hostname="127.0.0.1", port=args.smtp_port)
    controller.start()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/stats":
                body: dict[str, object] | None = {"count": counter.count}
            elif self.path == "/arrivals":
                with counter.lock:
                    body = dict(counter.arrivals)
            else:
                t = counter.arrivals.get(self.path.rsplit("/", 1)[-1])
                body = None if t is None else {"t": t}
            raw = json.dumps(body).encode()
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: object) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", args.http_port), Handler).serve_forever()


if __name__ == "__main__":
    main()
