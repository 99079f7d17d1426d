"""A thin HTTP client for the running API."""

from __future__ import annotations

from typing import Any

import requests


class ClientMethods:
    """What a test calls on an API, whichever way requests reach it."""

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Any = None,
        headers: dict[str, str] | None = None,
        data: Any = None,
    ) -> Any:
        raise NotImplementedError

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Any:
        return self.request("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.request("DELETE", path, **kw)

    # convenience -------------------------------------------------------
    def ok(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        response = self.request(method, path, **kw)
        assert response.status_code == 200, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def messages(self, tenant_id: str, **params: Any) -> list[dict[str, Any]]:
        return self.ok("GET", "/messages", params={"tenant_id": tenant_id, **params})["messages"]

    def message(self, tenant_id: str, msg_id: str) -> dict[str, Any] | None:
        return next((m for m in self.messages(tenant_id) if m["id"] == msg_id), None)


class ApiClient(ClientMethods):
    """Over HTTP, to a running stack."""

    def __init__(self, base_url: str, token: str | None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.session = requests.Session()

    def as_token(self, token: str | None) -> ApiClient:
        return ApiClient(self.base_url, token)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Any = None,
        headers: dict[str, str] | None = None,
        data: Any = None,
    ) -> requests.Response:
        hdrs = dict(headers or {})
        if self.token is not None:
            hdrs.setdefault("X-API-Token", self.token)
        return self.session.request(
            method, self.base_url + path, json=json, params=params, headers=hdrs, data=data, timeout=30
        )
