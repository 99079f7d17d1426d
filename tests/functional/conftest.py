"""Services in-process over real PostgreSQL, moto server over HTTP and aiosmtpd servers."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chalicelib.config import load_settings
from chalicelib.services import accounts, tenants
from chalicelib.services.ports import Ports
from chalicelib.wiring import build_ports
from devstack.aws import MotoServer
from devstack.postgres import PostgresCluster
from tests.support.factories import account_payload, tenant_payload
from tests.support.smtp import SmtpSink
from tests.support.world import ADMIN, World


@pytest.fixture(scope="session")
def functional_db(pg: PostgresCluster) -> str:
    url = pg.create_database("functional")
    from chalicelib.adapters.database import Database

    Database(url).migrate()
    return url


@pytest.fixture
def make_ports(functional_db: str, moto_server: MotoServer) -> Iterator[Callable[..., Ports]]:
    built: list[Ports] = []

    def factory(**env: str) -> Ports:
        settings = load_settings(
            {
                "DATABASE_URL": functional_db,
                "AWS_ENDPOINT_URL": moto_server.url,
                "MAILPROXY_API_TOKEN": "admin",
                "MAILPROXY_QUEUE_PREFIX": f"fn{os.getpid()}",
                "MAILPROXY_RETRY_DELAYS": "60,300",
                "MAILPROXY_SMTP_TIMEOUT": "2",
                "MAILPROXY_SMTP_CONNECT_TIMEOUT": "2",
                "MAILPROXY_OUTBOUND_ALLOW": "127.0.0.0/8",
                **env,
            }
        )
        ports = build_ports(settings)
        built.append(ports)
        return ports

    yield factory
    for ports in built:
        ports.database.close()


@pytest.fixture
def ports(make_ports: Callable[..., Ports]) -> Ports:
    return make_ports()


@pytest.fixture
def make_world(sink: SmtpSink, make_ports: Callable[..., Ports]) -> Iterator[Callable[..., World]]:
    # make_ports is asked for so that it is torn down after this: the worlds' tenants are
    # deleted through ports still open (deleted after, the pool was opened again and never
    # closed: the "cannot join current thread" warning when it was collected).
    created: list[tuple[Ports, str]] = []

    def factory(ports: Ports, account: dict[str, Any] | None = None, smtp: SmtpSink | None = None) -> World:
        target = smtp or sink
        tenant = tenant_payload()
        tenants.create_or_replace(ports, ADMIN, tenant)
        acct = account_payload(tenant["id"], target.port, **(account or {}))
        accounts.upsert(ports, ADMIN, acct)
        created.append((ports, tenant["id"]))
        return World(ports, tenant["id"], acct["id"], target)

    yield factory
    for ports, tenant_id in created:
        try:
            tenants.delete(ports, ADMIN, tenant_id)
        except Exception:
            pass


@pytest.fixture
def world(make_world: Callable[..., World], ports: Ports) -> World:
    return make_world(ports)
