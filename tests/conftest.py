"""Shared fixtures: the real components every tier above unit uses."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.aws import MotoServer
from devstack.dovecot import Dovecot
from devstack.dovecot import available as dovecot_available
from devstack.postgres import PostgresCluster
from devstack.procs import free_port
from tests.support.echo import EchoServer
from tests.support.smtp import SmtpSink

TIERS = ("unit", "functional", "integration", "e2e", "chaos")
_TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each test is marked with its tier, the folder it lives in (``-m unit`` selects the unit
    tier): ``pytestmark`` in a conftest.py marks nothing, pytest reads it from test modules."""
    for item in items:
        parts = item.path.resolve().relative_to(_TESTS).parts
        if parts and parts[0] in TIERS:
            item.add_marker(getattr(pytest.mark, parts[0]))


os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture(scope="session")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresCluster]:
    """A throwaway PostgreSQL cluster for the whole run."""
    cluster = PostgresCluster(tmp_path_factory.mktemp("pg"), free_port()).start(fast=True)
    yield cluster
    cluster.stop("immediate")


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """moto server over HTTP, as LocalStack would be."""
    server = MotoServer(free_port(), log_dir=tmp_path_factory.mktemp("logs")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def dovecot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dovecot]:
    """A real IMAP server (Debian's Dovecot) for the bounce mailbox."""
    if not dovecot_available():
        pytest.skip("Dovecot needs root and Debian's dovecot-imapd (make test installs it as root)")
    server = Dovecot(tmp_path_factory.mktemp("dovecot"), free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    yield server
    server.stop()


@pytest.fixture
def sink2() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    yield server
    server.stop()


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    """An HTTP server for reports, endpoint attachments and downloads."""
    server = EchoServer().start()
    yield server
    server.stop()
