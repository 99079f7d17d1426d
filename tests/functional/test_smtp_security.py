"""SMTP AUTH and TLS rules (docs/api.md §4.5, 5.4) against real aiosmtpd servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from chalicelib.services.ports import Ports
from tests.support.certs import self_signed_context
from tests.support.smtp import SmtpSink
from tests.support.world import World


@pytest.fixture
def auth_sink() -> Iterator[SmtpSink]:
    server = SmtpSink(credentials=("mailer", "s3cret")).start()
    yield server
    server.stop()


@pytest.fixture
def tls_sink(tmp_path: Path) -> Iterator[SmtpSink]:
    server = SmtpSink(tls_context=self_signed_context(tmp_path)).start()
    yield server
    server.stop()


def test_account_credentials_are_used_for_smtp_auth(
    make_world: Callable[..., World], ports: Ports, auth_sink: SmtpSink
) -> None:
    world = make_world(ports, account={"user": "mailer", "password": "s3cret"}, smtp=auth_sink)
    assert world.send_one()["status"] == "sent"
    assert auth_sink.logins == ["mailer"]


def test_authentication_failure_is_permanent(
    make_world: Callable[..., World], ports: Ports, auth_sink: SmtpSink
) -> None:
    world = make_world(ports, account={"user": "mailer", "password": "wrong"}, smtp=auth_sink)
    row = world.send_one()
    assert row["status"] == "error" and "(SMTP 535)" in row["error"]


def test_mandatory_starttls_refuses_an_unverifiable_certificate(
    make_world: Callable[..., World], ports: Ports, tls_sink: SmtpSink
) -> None:
    world = make_world(ports, account={"use_tls": True}, smtp=tls_sink)
    row = world.send_one()
    assert row["status"] == "error", "certificate errors are permanent"
    assert tls_sink.received == []


def test_mandatory_starttls_without_server_support_is_an_error(
    world: World, make_world: Callable[..., World], ports: Ports, sink: SmtpSink
) -> None:
    strict = make_world(ports, account={"use_tls": True}, smtp=sink)
    assert strict.send_one()["status"] == "error"
    assert sink.received == []
