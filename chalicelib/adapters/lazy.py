"""The adapters built on first use, each typed as the port it stands for.

The SMTP, HTTP and IMAP adapters import aiosmtplib, requests and imaplib. A function that
never sends, fetches or polls (the API, mostly) does not pay for importing them at cold
start: each is imported, and its adapter built, by the first call. Two threads calling
first at once may each build one; both work, and the second is kept.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from chalicelib.domain.rows import Row
from chalicelib.domain.targets import MailboxTarget, SmtpTarget

if TYPE_CHECKING:
    from chalicelib.adapters.http import HttpClient
    from chalicelib.config import Settings
    from chalicelib.domain.outbound import OutboundPolicy
    from chalicelib.services.ports import Mailbox, MailboxOpener, Sender, SmtpConnector


def smtp(settings: Settings) -> SmtpConnector:
    built: list[SmtpConnector] = []

    def connect(target: SmtpTarget) -> Sender:
        if not built:
            from chalicelib.adapters.smtp import SmtpConnector as Adapter

            built.append(Adapter(settings.smtp_connect_timeout, settings.smtp_timeout, settings.outbound))
        return built[-1](target)

    return connect


def mailboxes() -> MailboxOpener:
    built: list[MailboxOpener] = []

    def open_mailbox(target: MailboxTarget) -> AbstractContextManager[Mailbox]:
        if not built:
            from chalicelib.adapters.imap import ImapMailboxes

            built.append(ImapMailboxes())
        return built[-1](target)

    return open_mailbox


class Http:
    """services.ports.HttpClient, with requests imported by the first request."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self._policy = policy
        self._built: HttpClient | None = None

    def _client(self) -> HttpClient:
        if self._built is None:
            from chalicelib.adapters.http import HttpClient

            self._built = HttpClient(self._policy)
        return self._built

    def get_bytes(self, url: str, auth: Row | None, timeout: float) -> bytes:
        return self._client().get_bytes(url, auth, timeout)

    def post(
        self, url: str, body: bytes, headers: dict[str, str], auth: Row | None, timeout: float
    ) -> tuple[int, bytes]:
        return self._client().post(url, body, headers, auth, timeout)
