"""The API in this process, for route rules that need no subprocess stack.

A request is matched against the built template's API Gateway resources (what AWS would
route), turned into the REST proxy event API Gateway sends (devstack.gateway), and handed
to the Chalice app's handler in this process, whose ports are the test's
(``wiring.ports_in_use``). What a route answers is what the deployed API answers, minus
the function's isolation, which the integration tier covers.
"""

from __future__ import annotations

import json as jsonlib
from typing import Any
from urllib.parse import urlencode

from devstack.cfn import Context, Template
from devstack.gateway import Gateway
from devstack.runner import LambdaContext
from tests.support.api import ClientMethods


class Answer:
    """The parts of a requests.Response the tests read."""

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status_code = status
        self.headers = {k: v for k, v in headers}
        self.content = body
        self.text = body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return jsonlib.loads(self.content)


class _Handler:
    def invoke(self, event: Any) -> Any:
        import app  # the API function's module, as the template's handler names it

        return app.app(event, LambdaContext("api_handler", timeout_s=29.0))


class InProcessApi(ClientMethods):
    def __init__(self, token: str | None, gateway: Gateway | None = None) -> None:
        if gateway is None:
            template = Template.load(Context(parameters={}))
            gateway = Gateway(template.api_paths(), template.binary_media_types(), _Handler())
        self.gateway = gateway
        self.token = token

    def as_token(self, token: str | None) -> InProcessApi:
        return InProcessApi(token, self.gateway)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Any = None,
        headers: dict[str, str] | None = None,
        data: Any = None,
    ) -> Answer:  # type: ignore[override]
        hdrs = dict(headers or {})
        if self.token is not None:
            hdrs.setdefault("X-API-Token", self.token)
        body = b""
        if json is not None:
            body = jsonlib.dumps(json).encode()
            hdrs.setdefault("Content-Type", "application/json")
        elif data is not None:
            body = data.encode() if isinstance(data, str) else bytes(data)
        target = path + ("?" + urlencode(params) if params else "")
        status, answer_headers, payload = self.gateway.handle(method, target, list(hdrs.items()), body, "127.0.0.1")
        return Answer(status, answer_headers, payload)
