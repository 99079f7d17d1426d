"""Outgoing HTTP with requests: attachment downloads and client endpoints."""

from __future__ import annotations

import threading
from typing import Any

import requests

_local = threading.local()


class FetchError(Exception):
    """A download failed; the message is the contract's cause text."""


def _session() -> requests.Session:
    # requests.Session is not guaranteed thread-safe; one per thread, reused for keep-alive.
    session = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        _local.session = session
    return session


def _auth_headers(auth: dict[str, Any] | None) -> tuple[dict[str, str], Any]:
    if not auth or auth.get("method") in (None, "none"):
        return {}, None
    if auth["method"] == "bearer" and auth.get("token"):
        return {"Authorization": f"Bearer {auth['token']}"}, None
    if auth["method"] == "basic" and auth.get("user") is not None:
        return {}, (auth["user"], auth.get("password") or "")
    return {}, None


def _request(method: str, url: str, auth: dict[str, Any] | None, timeout: float,
             headers: dict[str, str] | None = None, body: bytes | None = None) -> requests.Response:
    extra, basic = _auth_headers(auth)
    try:
        return _session().request(method, url, data=body, headers={**(headers or {}), **extra},
                                  auth=basic, timeout=timeout)
    except requests.Timeout:
        raise FetchError("timed out") from None
    except requests.RequestException as exc:
        raise FetchError(type(exc).__name__ + ": " + str(exc)) from None


def get_bytes(url: str, auth: dict[str, Any] | None, timeout: float) -> bytes:
    """GET a download; non-2xx is a FetchError naming the status."""
    response = _request("GET", url, auth, timeout)
    if not 200 <= response.status_code < 300:
        raise FetchError(f"HTTP {response.status_code}")
    return response.content


def post(
    url: str, body: bytes, headers: dict[str, str], auth: dict[str, Any] | None, timeout: float
) -> tuple[int, bytes]:
    """POST and return (status, body) whatever the status; raises FetchError on no answer."""
    response = _request("POST", url, auth, timeout, headers, body)
    return response.status_code, response.content
