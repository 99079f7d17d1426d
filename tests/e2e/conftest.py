"""``make dev``'s own stack (python -m devstack.dev): LocalStack in host mode, PostgreSQL
made with initdb, the API Gateway stand-in and the function runner running the packaged
functions, and MailDev, all on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.maildev import MailDev, MailDevClient
from devstack.procs import free_port
from tests.support.api import ApiClient
from tests.support.dev_stack import Catcher, DevStack, start_dev, stop_dev
from tests.support.echo import EchoServer


@pytest.fixture(scope="session")
def dev_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    stack = start_dev(tmp_path_factory.mktemp("dev"))
    print(f"\nmake dev stack up in {stack.startup_seconds:.1f}s")
    yield stack
    stop_dev(stack)


@pytest.fixture(scope="session")
def second_catcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Catcher]:
    """A second MailDev, standing for tenant 2's own mail server."""
    catcher = MailDev(free_port(), free_port(), log_dir=tmp_path_factory.mktemp("maildev2"), name="maildev2")
    catcher.start()
    yield Catcher(catcher.smtp_port, catcher.client)
    catcher.stop()


@pytest.fixture(scope="session")
def first_catcher(dev_stack: DevStack) -> Catcher:
    """make dev's own MailDev."""
    return Catcher(dev_stack.smtp_port, MailDevClient(dev_stack.maildev_url))


@pytest.fixture
def admin(dev_stack: DevStack) -> ApiClient:
    return ApiClient(dev_stack.api_url, dev_stack.token)


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer().start()
    yield server
    server.stop()
