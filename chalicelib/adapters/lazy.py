"""The adapters built on first use, each typed as the port it stands for.

The SMTP, HTTP and IMAP adapters import aiosmtplib, requests and imaplib. A function that
never sends, fetches or polls (the API, mostly) does not pay for importing them at cold
start: each is imported, and its adapter built, by the first call. Two threads calling
first at once may each build one; both work, and the second is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from chalicelib.domain.rows import Row

if TYPE_CHECKING:
    from chalicelib.adapters.http import HttpClient
    from chalicelib.config import Settings
    from chalicelib.domain.outbound import OutboundPolicy
    from chalicelib.services.ports import MailboxOpener, SmtpConnector

T = TypeVar("T")


def _first_use(make: Callable[[], T]) -> Callable[[], T]:
    """``make()`` on the first call, the same object after."""
    built: list[T] = []

    def get() -> T:
        if not built:
            built.append(make())
        return built[-1]

    return get


def smtp(settings: Settings) -> SmtpConnector:
    def make() -> SmtpConnector:
        from chalicelib.adapters.smtp import SmtpConnector as Adapter

        return Adapter(settings.smtp_connect_timeout, settings.smtp_timeout, settings.outbound)

    connector = _first_use(make)
    return lambda target: connector()(target)


def mailboxes() -> MailboxOpener:
    def make() -> MailboxOpener:
        from chalicelib.adapters.imap import ImapMailboxes

        return ImapMailboxes()

    opener = _first_use(make)
    return lambda target: opener()(target)


class Http:
    """services.ports.HttpClient, with requests imported by the first request."""

    def __init__(self, policy: OutboundPolicy) -> None:
        def make() -> HttpClient:
            from chalicelib.adapters.http import HttpClient

            return HttpClient(policy)

        self._client = _first_use(make)

    def get_bytes(self, url: str, auth: Row | None, timeout: float) -> bytes:
        return self._client().get_bytes(url, auth, timeout)

    def post(
        self, url: str, body: bytes, headers: dict[str, str], auth: Row | None, timeout: float
    ) -> tuple[int, bytes]:
        return self._client().post(url, body, headers, auth, timeout)
