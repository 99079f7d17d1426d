"""A tenant with one SMTP account, driven through the services in-process (functional tier)."""

from __future__ import annotations

import dataclasses
from typing import Any

from chalicelib.domain import finding
from chalicelib.services import submit
from chalicelib.services.auth import Principal
from chalicelib.services.ports import Ports
from tests.support.factories import message_payload
from tests.support.runs import dispatch_tenant
from tests.support.smtp import SmtpSink

ADMIN = Principal(None)


class Clock:
    """A settable clock, injected where the service reads time."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclasses.dataclass
class World:
    ports: Ports
    tenant_id: str
    account_id: str
    sink: SmtpSink

    def submit(self, *messages: dict[str, Any]) -> dict[str, Any]:
        return submit.add_messages(self.ports, ADMIN, {"messages": list(messages)})

    def message(self, **over: Any) -> dict[str, Any]:
        return message_payload(self.tenant_id, self.account_id, **over)

    def send_one(self, **over: Any) -> dict[str, Any]:
        """Submit one message, run one dispatch, return its row."""
        msg = self.message(**over)
        self.submit(msg)
        dispatch_tenant(self.ports, self.tenant_id)
        return self.row(msg["id"])

    def row(self, msg_id: str) -> dict[str, Any]:
        rows = [r for r in self.ports.messages.find(self.tenant_id, False, finding.read({}), None) if r["id"] == msg_id]
        assert rows, f"message {msg_id} not found"
        return rows[0]

    def events(self, msg_id: str) -> list[dict[str, Any]]:
        return self.ports.messages.events_of([self.row(msg_id)["pk"]])
