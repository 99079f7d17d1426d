"""API Gateway (REST API, Lambda proxy integration), locally, from the built template.

Routes are the template's API Gateway resources: a request is matched against them as API
Gateway matches (literal path parts before ``{param}`` parts, ``{proxy+}`` last); no match,
or a method the resource does not have, answers API Gateway's own 403
``{"message": "Missing Authentication Token"}``. A matched request becomes the REST proxy
event API Gateway sends (``resource``, ``requestContext.resourcePath``, percent-encoded
``pathParameters``, multi-value headers and query, base64 bodies for binary media types)
and invokes the integration's function through devstack.functions, with its timeout and
API Gateway's own 29 s integration limit.

Run: python -m devstack.gateway DEPLOYMENT_JSON PORT
"""

from __future__ import annotations

import base64
import json
import logging
import re
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from devstack.deployment import STAGE, Deployment
from devstack.functions import FunctionHost, InvocationError

log = logging.getLogger("mailproxy.gateway")

INTEGRATION_TIMEOUT = 29.0
MAX_PAYLOAD = 10 * 1024 * 1024
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


class Route:
    def __init__(self, path: str, item: dict[str, Any]) -> None:
        self.path = path
        self.methods = {
            m.upper(): spec for m, spec in item.items() if m.upper() in METHODS or m == "x-amazon-apigateway-any-method"
        }
        parts = [p for p in path.split("/") if p]
        self.parts = parts
        pattern = ""
        for part in parts:
            if part.endswith("+}"):
                pattern += f"/(?P<{part[1:-2]}>.+)"
            elif part.startswith("{"):
                pattern += f"/(?P<{part[1:-1]}>[^/]+)"
            else:
                pattern += "/" + re.escape(part)
        self.regex = re.compile("^" + (pattern or "/") + "$")

    def rank(self) -> tuple[int, ...]:
        """API Gateway prefers literal parts, then {param}, then {proxy+}, part by part."""
        return tuple(2 if p.endswith("+}") else 1 if p.startswith("{") else 0 for p in self.parts)

    def spec(self, method: str) -> dict[str, Any] | None:
        return self.methods.get(method) or self.methods.get("X-AMAZON-APIGATEWAY-ANY-METHOD")


class Routes:
    def __init__(self, paths: dict[str, Any]) -> None:
        self.routes = sorted((Route(p, i) for p, i in paths.items()), key=Route.rank)

    def match(self, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            found = route.regex.match(path)
            if found:
                return route, found.groupdict()
        return None


def _is_binary(content_type: str | None, binary_types: list[str]) -> bool:
    if not content_type:
        return False
    media = content_type.split(";")[0].strip().lower()
    for pattern in binary_types:
        pattern = pattern.replace("~1", "/").lower()
        if pattern == media or pattern == "*/*" or (pattern.endswith("/*") and media.startswith(pattern[:-1])):
            return True
    return False


def proxy_event(
    method: str,
    raw_path: str,
    query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    route: Route,
    params: dict[str, str],
    binary_types: list[str],
    source_ip: str,
) -> dict[str, Any]:
    """The REST API proxy event (payload format 1.0) for one request."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in headers:
        single[name] = value
        multi.setdefault(name, []).append(value)
    qs_single: dict[str, str] = {}
    qs_multi: dict[str, list[str]] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        qs_single[name] = value
        qs_multi.setdefault(name, []).append(value)
    content_type = next((v for k, v in headers if k.lower() == "content-type"), None)
    binary = _is_binary(content_type, binary_types)
    text: str | None
    if not body:
        text = None
    elif binary:
        text = base64.b64encode(body).decode()
    else:
        text = body.decode("utf-8", errors="replace")
    now = time.time()
    return {
        "resource": route.path,
        "path": raw_path,
        "httpMethod": method,
        "headers": single or None,
        "multiValueHeaders": multi or None,
        "queryStringParameters": qs_single or None,
        "multiValueQueryStringParameters": qs_multi or None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": route.path,
            "httpMethod": method,
            "path": f"/{STAGE}{raw_path}",
            "stage": STAGE,
            "requestId": str(uuid.uuid4()),
            "extendedRequestId": str(uuid.uuid4()),
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "protocol": "HTTP/1.1",
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": single.get("Host", "127.0.0.1"),
            "resourceId": "local",
            "identity": {"sourceIp": source_ip, "userAgent": single.get("User-Agent")},
        },
        "body": text,
        "isBase64Encoded": binary and bool(body),
    }


class Invoker(Protocol):
    """What runs the API function: a FunctionHost (isolated, as deployed) or, for the
    in-process route tier, the handler itself."""

    def invoke(self, event: Any) -> Any: ...


class Gateway:
    def __init__(self, api_paths: dict[str, Any], binary_media_types: list[str], function: Invoker) -> None:
        self.routes = Routes(api_paths)
        self.binary_types = binary_media_types
        self.function = function

    @classmethod
    def of(cls, deployment: Deployment, host: FunctionHost | None = None) -> Gateway:
        """The deployed API: the API function run by the function host, as in AWS."""
        function = host or deployment.host(deployment.api_function, max_environments=4)
        return cls(deployment.api_paths, deployment.binary_media_types, function)

    def handle(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, source_ip: str
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        split = urlsplit(target)
        raw_path = split.path or "/"
        matched = self.routes.match(raw_path)
        spec = matched[0].spec(method) if matched else None
        if matched is None or spec is None:
            return _gateway_error(403, "Missing Authentication Token")
        if spec.get("security") and not any(
            k.lower() == "authorization" and v.startswith("AWS4-HMAC-SHA256") for k, v in headers
        ):
            return _gateway_error(403, "Missing Authentication Token")
        if len(body) > MAX_PAYLOAD:
            return _gateway_error(413, "Request Too Long")
        route, params = matched
        event = proxy_event(method, raw_path, split.query, headers, body, route, params, self.binary_types, source_ip)
        try:
            result = self.function.invoke(event)
        except InvocationError as exc:
            if exc.kind == "Function.Timeout":
                return _gateway_error(504, "Endpoint request timed out")
            return _gateway_error(502, "Internal server error")
        return _response(result)


def _gateway_error(status: int, message: str) -> tuple[int, list[tuple[str, str]], bytes]:
    return (
        status,
        [("Content-Type", "application/json"), ("x-amzn-ErrorType", "GatewayError")],
        json.dumps({"message": message}).encode(),
    )


def _response(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """API Gateway's reading of a proxy integration's answer; malformed → 502."""
    if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
        return _gateway_error(502, "Internal server error")
    headers: list[tuple[str, str]] = []
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((name, str(v)) for v in values)
    for name, value in (result.get("headers") or {}).items():
        if not any(h[0].lower() == name.lower() for h in headers):
            headers.append((name, str(value)))
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
    return int(result["statusCode"]), headers, body


class _Handler(BaseHTTPRequestHandler):
    gateway: Gateway
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm on, the body waits for
    # the client's delayed ACK of the headers: 40 ms on every keep-alive request.
    disable_nagle_algorithm = True

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, headers, payload = self.gateway.handle(
            self.command, self.path, list(self.headers.items()), body, self.client_address[0]
        )
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)


class _Server(ThreadingHTTPServer):
    # API Gateway takes any number of connections at once; socketserver's backlog of 5 made
    # clients with many threads see connections reset while the stand-in was busy.
    request_queue_size = 256


def serve(deployment: Deployment, port: int) -> ThreadingHTTPServer:
    handler = type("Handler", (_Handler,), {"gateway": Gateway.of(deployment)})
    server = _Server(("127.0.0.1", port), handler)
    server.daemon_threads = True
    return server


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    deployment = Deployment.load(Path(sys.argv[1]))
    server = serve(deployment, int(sys.argv[2]))
    log.info("API Gateway stand-in on 127.0.0.1:%s (%d resources)", sys.argv[2], len(deployment.api_paths))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
