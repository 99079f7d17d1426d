"""The SMTP adapter's mail transaction against a real aiosmtpd server: bare addresses go on the
command line directly, anything else through aiosmtplib's own checks, and a refused envelope
leaves the connection usable."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Iterator

import pytest

from chalicelib.adapters.smtp import SmtpSession
from chalicelib.domain.outbound import OutboundPolicy
from chalicelib.domain.targets import SmtpTarget
from chalicelib.errors import DeliveryError
from tests.support.smtp import Behaviour, SmtpSink

DATA = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nbody\r\n"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    yield server
    server.stop()


def _session(sink: SmtpSink) -> SmtpSession:
    policy = OutboundPolicy(networks=(ipaddress.ip_network("127.0.0.0/8"),))
    return SmtpSession(SmtpTarget("127.0.0.1", sink.port, None, None, False), 5, 5, policy)


def _run(session: SmtpSession, *sends: tuple[str, list[str]]) -> list[dict[str, str] | DeliveryError]:
    async def go() -> list[dict[str, str] | DeliveryError]:
        results: list[dict[str, str] | DeliveryError] = []
        for sender, recipients in sends:
            try:
                results.append(await session.send(sender, recipients, DATA))
            except DeliveryError as exc:
                results.append(exc)
        await session.close()
        return results

    return asyncio.run(go())


def test_bare_addresses_reach_the_server_as_the_envelope(sink: SmtpSink) -> None:
    results = _run(_session(sink), ("bounce+x@example.com", ["o'neil@example.org", "b@[127.0.0.1]"]))
    assert results == [{}]
    assert [(r.sender, r.recipients, r.data) for r in sink.received] == [
        ("bounce+x@example.com", ["o'neil@example.org", "b@[127.0.0.1]"], DATA)
    ]


def test_a_quoted_local_part_is_sent_through_the_library_path(sink: SmtpSink) -> None:
    assert _run(_session(sink), ("a@example.com", ['"john doe"@example.com'])) == [{}]
    assert sink.received[0].recipients == ['"john doe"@example.com']


def test_some_refused_recipients_are_returned_and_the_rest_receive(sink: SmtpSink) -> None:
    sink.behaviour = Behaviour(refuse_recipients={"gone@example.com"})
    [refused] = _run(_session(sink), ("a@example.com", ["gone@example.com", "here@example.com"]))
    assert isinstance(refused, dict) and list(refused) == ["gone@example.com"]
    assert "550" in refused["gone@example.com"]
    assert sink.received[0].recipients == ["here@example.com"]


def test_an_envelope_refused_whole_leaves_the_connection_usable(sink: SmtpSink) -> None:
    sink.behaviour = Behaviour(refuse_recipients={"gone@example.com"})
    first, second = _run(
        _session(sink), ("a@example.com", ["gone@example.com"]), ("a@example.com", ["here@example.com"])
    )
    assert isinstance(first, DeliveryError) and not first.temporary and first.code == 550
    assert second == {} and [r.recipients for r in sink.received] == [["here@example.com"]]


def test_one_deadline_covers_the_whole_transaction(sink: SmtpSink) -> None:
    sink.behaviour = Behaviour(hang_seconds=3)  # DATA answered after 3 s
    policy = OutboundPolicy(networks=(ipaddress.ip_network("127.0.0.0/8"),))
    session = SmtpSession(SmtpTarget("127.0.0.1", sink.port, None, None, False), 5, 0.5, policy)
    started = time.monotonic()
    [failure] = _run(session, ("a@example.com", ["b@example.com"]))
    assert isinstance(failure, DeliveryError) and failure.temporary, "a timeout is temporary"
    assert time.monotonic() - started < 2.5, "the transaction's deadline, not the server's pace"
