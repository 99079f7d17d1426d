"""The running stack over HTTP: the built template deployed locally (API Gateway stand-in,
packaged functions, the function runner) on moto server +
PostgreSQL + aiosmtpd servers. Tests talk to it only through HTTP and SMTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.aws import MotoServer
from devstack.postgres import PostgresCluster
from devstack.stack import Stack
from tests.support.api import ApiClient
from tests.support.dev_stack import local_stack_options
from tests.support.smtp import SmtpSink
from tests.support.tenants import TenantFactory, TenantHandle


@pytest.fixture(scope="session")
def stack(pg: PostgresCluster, moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    options = local_stack_options(
        pg,
        moto_server.url,
        "integration",
        tmp_path_factory.mktemp("stack-logs"),
        schedule_tick=1,
        settings={
            "MAILPROXY_RETRY_DELAYS": "1,2",
            "MAILPROXY_REPORT_INTERVAL": "5",
            "MAILPROXY_ATTACHMENT_TIMEOUT": "2",
        },
    )
    running = Stack(options).start()
    yield running
    running.stop()


@pytest.fixture
def admin(stack: Stack) -> ApiClient:
    return ApiClient(stack.api_url, stack.token)


@pytest.fixture
def anonymous(stack: Stack) -> ApiClient:
    return ApiClient(stack.api_url, None)


@pytest.fixture
def make_tenant(admin: ApiClient) -> Iterator[TenantFactory]:
    factory = TenantFactory(admin)
    yield factory
    factory.cleanup()


@pytest.fixture
def tenant(make_tenant: TenantFactory, sink: SmtpSink) -> TenantHandle:
    return make_tenant(sink)
