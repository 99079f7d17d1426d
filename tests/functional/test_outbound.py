"""The outbound policy on every connection a tenant's data directs, over real servers.

Attachment downloads (and their redirects), endpoint attachments, delivery reports and SMTP
accounts reach loopback, private or link-local addresses (directly or through a DNS name)
only when MAILPROXY_OUTBOUND_ALLOW lets them; refused ones say only "destination not
allowed". Refused addresses are never connected to, so the private ones below receive no
traffic.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from chalicelib.domain.outbound import REFUSED
from chalicelib.services import reports, tenants
from chalicelib.services.ports import Ports
from tests.support.echo import EchoServer
from tests.support.smtp import SmtpSink
from tests.support.world import ADMIN, World

pytestmark = pytest.mark.functional

PUBLIC_ONLY = {"MAILPROXY_OUTBOUND_ALLOW": ""}


@pytest.fixture
def strict(make_ports: Callable[..., Ports], make_world: Callable[..., World]) -> World:
    """A world whose settings allow public addresses only (its account still points at the
    loopback sink: the tests below show what that refuses)."""
    return make_world(make_ports(**PUBLIC_ONLY))


def attach(world: World, url: str) -> dict:
    return world.send_one(attachments=[{"filename": "f.txt", "storage_path": url}])


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/f",
        "http://localhost:{port}/f",
        "http://10.0.0.1/f",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:{port}/f",
        "http://0.0.0.0:{port}/f",
    ],
)
def test_downloads_to_non_public_addresses_are_refused_without_a_connection(
    strict: World, echo: EchoServer, url: str
) -> None:
    echo.files["/f"] = b"internal"
    started = time.monotonic()
    row = attach(strict, url.format(port=echo.port))
    assert row["status"] == "error"
    assert row["error"] == f"Attachment fetch failed for f.txt: {REFUSED}"
    assert echo.gets == [] and time.monotonic() - started < 5


def test_a_redirect_to_a_refused_address_is_refused(
    make_ports: Callable[..., Ports], make_world: Callable[..., World], echo: EchoServer, sink: SmtpSink
) -> None:
    # Only the echo server and the SMTP sink are allowed (host:port); the echo server
    # redirects to another local port.
    world = make_world(make_ports(MAILPROXY_OUTBOUND_ALLOW=f"127.0.0.1:{echo.port},127.0.0.1:{sink.port}"))
    echo.redirects["/hop"] = f"http://127.0.0.1:{echo.port + 1}/admin"
    echo.redirects["/ok"] = "/f"
    echo.files["/f"] = b"fine"
    row = attach(world, f"{echo.url}/hop")
    assert row["error"] == f"Attachment fetch failed for f.txt: {REFUSED}"
    assert attach(world, f"{echo.url}/ok")["status"] == "sent", "a redirect to an allowed place is followed"


def test_downloads_work_where_the_allow_list_lets_them(world: World, echo: EchoServer) -> None:
    echo.files["/f"] = b"allowed"
    assert attach(world, f"{echo.url}/f")["status"] == "sent"


def test_endpoint_attachments_follow_the_policy(strict: World, echo: EchoServer) -> None:
    tenants.update(strict.ports, ADMIN, strict.tenant_id, {"client_base_url": echo.url})
    echo.files["doc"] = b"document"
    row = attach(strict, "doc")
    assert row["error"] == f"Attachment fetch failed for f.txt: {REFUSED}"
    assert echo.requests == []


def test_delivery_reports_follow_the_policy(strict: World, world: World, echo: EchoServer) -> None:
    for w in (strict, world):
        tenants.update(w.ports, ADMIN, w.tenant_id, {"client_base_url": echo.url})
    assert reports.report_tenant(strict.ports, strict.tenant_id).failed, "refused: the report failed"
    assert echo.requests == [], "nothing reached the report endpoint"
    assert not reports.report_tenant(world.ports, world.tenant_id).failed
    assert len(echo.requests) == 1, "allowed: the report was posted"


def test_smtp_accounts_follow_the_policy(strict: World, world: World, sink: SmtpSink) -> None:
    refused = strict.send_one()
    assert refused["status"] == "error" and "destination not allowed" in refused["error"], refused
    assert "MAILPROXY_OUTBOUND_ALLOW" in refused["error"], "the error says how an operator allows it"
    assert sink.ids() == [], "no connection to the refused account"
    assert world.send_one()["status"] == "sent"
