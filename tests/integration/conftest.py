"""The running stack over HTTP: the built template deployed locally (API Gateway stand-in,
packaged functions, the function runner) on moto server +
PostgreSQL + aiosmtpd servers. Tests talk to it only through HTTP and SMTP."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from devstack.aws import MotoServer
from devstack.postgres import PostgresCluster
from devstack.procs import free_port
from devstack.stack import Stack, StackOptions
from tests.support.api import ApiClient
from tests.support.smtp import SmtpSink
from tests.support.tenants import TenantFactory, TenantHandle

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def stack(pg: PostgresCluster, moto_server: MotoServer,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    options = StackOptions(
        api_port=free_port(), aws="external", aws_url=moto_server.url,
        database_url=pg.create_database("integration"), maildev=False, schedule_tick=1,
        queue_prefix=f"it{os.getpid()}", log_dir=tmp_path_factory.mktemp("stack-logs"),
        extra_env={"MAILPROXY_RETRY_DELAYS": "1,2", "MAILPROXY_REPORT_INTERVAL": "5",
                   "MAILPROXY_ATTACHMENT_TIMEOUT": "2"},
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
