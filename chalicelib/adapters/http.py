"""Outgoing HTTP with requests: attachment downloads and client endpoints.

Every connection, redirects included, goes through the outbound policy: urllib3's
connection classes are given a ``_new_conn`` that resolves, checks and connects through
adapters/outbound.py.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from chalicelib.adapters import outbound
from chalicelib.domain.outbound import OutboundPolicy
from chalicelib.errors import DestinationRefused, FetchError

_local = threading.local()


def _adapter(policy: OutboundPolicy) -> HTTPAdapter:
    def new_conn(conn: Any) -> socket.socket:
        return outbound.connect(
            policy, conn._dns_host, conn.port, conn.timeout, conn.source_address, conn.socket_options
        )

    plain = type("PolicyHTTPConnection", (HTTPConnection,), {"_new_conn": new_conn})
    tls = type("PolicyHTTPSConnection", (HTTPSConnection,), {"_new_conn": new_conn})
    pools = {
        "http": type("PolicyPool", (HTTPConnectionPool,), {"ConnectionCls": plain}),
        "https": type("PolicyTLSPool", (HTTPSConnectionPool,), {"ConnectionCls": tls}),
    }

    class PolicyAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = pools

    return PolicyAdapter()


def _session(policy: OutboundPolicy) -> requests.Session:
    # requests.Session is not guaranteed thread-safe; one per thread (and policy), reused
    # for keep-alive. No proxies from the environment: they would bypass the policy.
    sessions: dict[OutboundPolicy, requests.Session] = getattr(_local, "sessions", None) or {}
    _local.sessions = sessions
    if policy not in sessions:
        session = requests.Session()
        session.trust_env = False
        session.mount("http://", _adapter(policy))
        session.mount("https://", _adapter(policy))
        sessions[policy] = session
    return sessions[policy]


def _auth_headers(auth: dict[str, Any] | None) -> tuple[dict[str, str], Any]:
    if not auth or auth.get("method") in (None, "none"):
        return {}, None
    if auth["method"] == "bearer" and auth.get("token"):
        return {"Authorization": f"Bearer {auth['token']}"}, None
    if auth["method"] == "basic" and auth.get("user") is not None:
        return {}, (auth["user"], auth.get("password") or "")
    return {}, None


def _request(
    policy: OutboundPolicy,
    method: str,
    url: str,
    auth: dict[str, Any] | None,
    timeout: float,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> requests.Response:
    extra, basic = _auth_headers(auth)
    try:
        return _session(policy).request(
            method, url, data=body, headers={**(headers or {}), **extra}, auth=basic, timeout=timeout
        )
    except DestinationRefused as exc:
        raise FetchError(str(exc)) from None
    except requests.Timeout:
        raise FetchError("timed out") from None
    except requests.RequestException as exc:
        raise FetchError(type(exc).__name__ + ": " + str(exc)) from None


class HttpClient:
    """The HTTP port: every request through the outbound policy it was built with."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self._policy = policy

    def get_bytes(self, url: str, auth: dict[str, Any] | None, timeout: float) -> bytes:
        """GET a download; non-2xx is a FetchError naming the status."""
        response = _request(self._policy, "GET", url, auth, timeout)
        if not 200 <= response.status_code < 300:
            raise FetchError(f"HTTP {response.status_code}")
        return response.content

    def post(
        self, url: str, body: bytes, headers: dict[str, str], auth: dict[str, Any] | None, timeout: float
    ) -> tuple[int, bytes]:
        """POST and return (status, body) whatever the status; raises FetchError on no answer."""
        response = _request(self._policy, "POST", url, auth, timeout, headers, body)
        return response.status_code, response.content
