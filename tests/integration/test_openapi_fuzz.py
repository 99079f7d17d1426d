"""Schemathesis against a running stack of its own: cases generated from /openapi.json for
every operation (valid and invalid), sent with the admin token. No answer may be a server
error, and every answer must be one the document describes (status, content type, schema).

Its own stack (database, queues): generated cases create tenants and change instance
settings, which must not leak into the other tests' stack."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from devstack.aws import MotoServer
from devstack.postgres import PostgresCluster
from devstack.stack import Stack
from tests.support.dev_stack import local_stack_options

# Every default check but positive_data_acceptance: the API refuses some schema-valid requests by
# design, answering 400 for what depends on stored state (suspend of an unknown tenant, an
# account of another tenant) and 422 for strings PostgreSQL cannot hold (NUL, unpaired
# surrogates), which JSON Schema cannot say. Invalid requests must still be 4xx
# (negative_data_rejection), and nothing may be a 5xx.
# Bounded: every operation, this many generated cases each (make test's budget).
CASES_PER_OPERATION = int(os.environ.get("MAILPROXY_FUZZ_CASES", "25"))


@pytest.fixture(scope="module")
def fuzz_stack(
    pg: PostgresCluster, moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    options = local_stack_options(
        pg, moto_server.url, "fuzz", tmp_path_factory.mktemp("fuzz-stack"), schedule_tick=3600
    )
    running = Stack(options).start()
    yield running
    running.stop()


def test_generated_requests_get_documented_answers_and_never_a_server_error(fuzz_stack: Stack) -> None:
    # Schemathesis' pytest plugin does not run under this pytest (it reads a private node
    # attribute), so each operation's strategy is driven by Hypothesis here, and every
    # operation's failure is collected before the test fails.
    schema = schemathesis.openapi.from_url(f"{fuzz_stack.api_url}/openapi.json")
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30, "every route is described"
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=CASES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            case.call_and_validate(
                headers={"X-API-Token": fuzz_stack.token}, excluded_checks=[checks.positive_data_acceptance]
            )

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:
            failures[operation.label] = str(exc)[:3000]
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
