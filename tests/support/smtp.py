"""Real SMTP servers (aiosmtpd) on 127.0.0.1 that accept, refuse or hang on command."""

from __future__ import annotations

import asyncio
import ssl
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from devstack.procs import free_port


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]

    @property
    def mail_id(self) -> str | None:
        return self.message.get("X-Genro-Mail-ID")


@dataclass
class Behaviour:
    """What the server answers. ``data_reply``/``rcpt_reply`` None = accept."""

    data_reply: str | None = None
    rcpt_reply: str | None = None
    refuse_recipients: set[str] = field(default_factory=set)
    hang_seconds: float = 0.0
    # Answer data_reply only for the first N messages, then accept (None = always).
    fail_first: int | None = None
    # Faults on every Nth DATA (fault soak): drop the connection without an answer, answer
    # 451, or stall for hang_seconds first.
    drop_every: int | None = None
    temp_every: int | None = None
    stall_every: int | None = None


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        b = self.sink.behaviour
        if b.rcpt_reply:
            return b.rcpt_reply
        if address in b.refuse_recipients:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        b = self.sink.behaviour
        with self.sink.lock:
            self.sink.data_started += 1
            self.sink.in_data += 1
            self.sink.max_in_data = max(self.sink.max_in_data, self.sink.in_data)
            n = self.sink.data_started
        try:
            if b.hang_seconds and (b.stall_every is None or n % b.stall_every == 0):
                await asyncio.sleep(b.hang_seconds)
        finally:
            with self.sink.lock:
                self.sink.in_data -= 1
        if b.drop_every and n % b.drop_every == 0:
            server.transport.close()  # mid-DATA: the client never hears an answer
            return "421 4.4.2 Connection dropped"
        if b.temp_every and n % b.temp_every == 0:
            return "451 4.3.0 Temporary failure, try again"
        with self.sink.lock:
            self.sink.attempts += 1
            failing = b.data_reply and (b.fail_first is None or self.sink.attempts <= b.fail_first)
            if failing:
                return b.data_reply  # type: ignore[return-value]
            self.sink.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content))  # type: ignore[arg-type]
            )
        return "250 Message accepted"


class SmtpSink:
    """An aiosmtpd server in a thread; ``received`` lists accepted messages in order."""

    def __init__(
        self,
        port: int | None = None,
        *,
        credentials: tuple[str, str] | None = None,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.port = port or free_port()
        self.behaviour = Behaviour()
        self.received: list[Received] = []
        self.attempts = 0
        self.data_started = 0
        self.in_data = 0
        self.max_in_data = 0
        self.logins: list[str] = []
        self.lock = threading.Lock()
        options: dict[str, Any] = {"data_size_limit": 50 * 1024 * 1024}
        if credentials is not None:

            def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
                ok = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode()) == credentials
                if ok:
                    self.logins.append(data.login.decode())
                # handled=False: aiosmtpd then answers 535 itself.
                return AuthResult(success=ok, handled=False)

            options.update(authenticator=authenticator, auth_require_tls=False)
        if tls_context is not None:
            options["tls_context"] = tls_context
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, **options)

    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def reset(self) -> None:
        with self.lock:
            self.received.clear()
            self.attempts = 0
        self.behaviour = Behaviour()

    def by_id(self, mail_id: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.mail_id == mail_id]

    def ids(self) -> list[str]:
        with self.lock:
            return [r.mail_id or "" for r in self.received]
