"""The HTTP API as the CLI sees it: one call, its JSON answer, or an ApiError with an exit code
that scripts can trust."""

from __future__ import annotations

from typing import Any

import requests

from mailproxy_cli.settings import CliSettings

# Exit codes (documented in docs/cli.md); click itself exits 2 on a usage error.
OK, FAILED, USAGE, NOT_FOUND, DENIED, REFUSED, UNAVAILABLE = 0, 1, 2, 3, 4, 5, 6


class ApiError(Exception):
    def __init__(self, message: str, exit_code: int, status: int | None = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.status = status


def unreachable(url: str, timeout: float, exc: requests.RequestException) -> str:
    """One line a person can act on, not urllib3's nested retry dump."""
    if isinstance(exc, requests.Timeout):
        why = f"no answer within {timeout:g}s"
    elif isinstance(exc, requests.ConnectionError):
        why = "nothing answers there (connection refused or unknown host)"
    else:
        why = type(exc).__name__
    return (
        f"cannot reach {url}: {why}; is the API running, and is the URL right? "
        "(--url, MAILPROXY_URL or the config file's url)"
    )


def _exit_code(status: int) -> int:
    if status == 404:
        return NOT_FOUND
    if status in (401, 403):
        return DENIED
    if 400 <= status < 500:
        return REFUSED
    return UNAVAILABLE


def describe(detail: Any) -> str:
    """The API's ``detail`` in one readable piece: a message, a 422 list, or rejected items."""
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        return "; ".join(
            f"{'.'.join(str(p) for p in d.get('loc', []))}: {d.get('msg')}" if isinstance(d, dict) else str(d)
            for d in detail
        )
    if isinstance(detail, dict):
        parts = [str(detail["error"])] if detail.get("error") else []
        parts += [f"{r.get('id', '?')}: {r.get('reason')}" for r in detail.get("rejected") or []]
        return "; ".join(parts) or str(detail)
    return str(detail)


class Client:
    def __init__(self, settings: CliSettings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self._http = session or requests.Session()
        if settings.token:
            self._http.headers["X-API-Token"] = settings.token

    def call(self, method: str, path: str, query: dict[str, Any] | None = None, body: Any = None) -> Any:
        params = {k: _query_value(v) for k, v in (query or {}).items() if v is not None}
        try:
            answer = self._http.request(
                method, self.settings.url + path, params=params, json=body, timeout=self.settings.timeout
            )
        except requests.RequestException as exc:
            raise ApiError(unreachable(self.settings.url, self.settings.timeout, exc), UNAVAILABLE) from None
        try:
            data = answer.json()
        except ValueError:
            data = None
        if answer.status_code >= 400:
            detail = data.get("detail", data) if isinstance(data, dict) else answer.text[:500]
            raise ApiError(
                f"{answer.status_code}: {describe(detail)}", _exit_code(answer.status_code), answer.status_code
            )
        return data if data is not None else answer.text

    def pages(self, path: str, key: str, query: dict[str, Any], limit: int, everything: bool) -> list[Any]:
        """Items of a cursor-paged listing: one page of ``limit``, or every page."""
        items: list[Any] = []
        cursor = None
        while True:
            page = self.call("GET", path, {**query, "limit": limit, "cursor": cursor})
            items.extend(page.get(key, []))
            cursor = page.get("next_cursor")
            if not everything or not cursor:
                return items


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
