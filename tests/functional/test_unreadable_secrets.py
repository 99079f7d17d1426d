"""Secrets stored under another MAILPROXY_ENCRYPTION_KEY: nothing stuck, nothing silent.

An account whose password the deployment's key cannot decrypt ends its messages in error
with a reason that says what to do, and is flagged in /status, /metrics (and so its alert)
until it is saved again; the API says, naming the variable, when its key cannot read the
database it was started on."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from chalicelib.errors import ConfigurationError
from chalicelib.services import accounts, key_check, observability
from chalicelib.services.dispatch import UNREADABLE_ACCOUNT
from chalicelib.services.ports import Ports
from tests.support.factories import account_payload
from tests.support.runs import dispatch_tenant
from tests.support.world import ADMIN, World

pytestmark = pytest.mark.functional


def test_an_unreadable_account_password_ends_its_messages_in_error_and_flags_the_account(
    make_ports: Callable[..., Ports], make_world: Callable[..., World]
) -> None:
    before = make_ports(MAILPROXY_ENCRYPTION_KEY="the-key-it-was-saved-with")
    world = make_world(before, account={"user": "mailer", "password": "pa55word"})
    after = make_ports(MAILPROXY_ENCRYPTION_KEY="a-key-generated-since")
    messages = [world.message(), world.message()]
    World(after, world.tenant_id, world.account_id, world.sink).submit(*messages)
    dispatch_tenant(after, world.tenant_id)

    for message in messages:
        row = world.row(message["id"])
        assert row["status"] == "error" and row["error"] == UNREADABLE_ACCOUNT
        assert row["last_error"] == UNREADABLE_ACCOUNT
    assert "MAILPROXY_ENCRYPTION_KEY" in UNREADABLE_ACCOUNT and "save" in UNREADABLE_ACCOUNT
    assert world.sink.attempts == 0
    flagged = f"{world.tenant_id}/{world.account_id}"
    part = observability.status(after, ADMIN)["accounts"]
    assert part["healthy"] is False and flagged in part["accounts"]
    assert "MAILPROXY_ENCRYPTION_KEY" in part["what_to_do"]
    scraped = observability.metrics_text(after)
    assert (
        f'gmp_account_secret_unreadable{{account_id="{world.account_id}",tenant_id="{world.tenant_id}"}} 1.0' in scraped
    )

    # Saved again with its password: sealed with today's key, the flag is gone, mail flows.
    accounts.upsert(after, ADMIN, account_payload(world.tenant_id, world.sink.port, id=world.account_id))
    assert flagged not in observability.status(after, ADMIN)["accounts"].get("accounts", [])
    assert world.account_id not in observability.metrics_text(after).split("gmp_account_secret_unreadable")[-1]
    again = World(after, world.tenant_id, world.account_id, world.sink).send_one()
    assert again["status"] == "sent"


def test_the_api_names_the_variable_when_its_key_cannot_read_the_database(
    make_ports: Callable[..., Ports], ports: Ports
) -> None:
    key_check.forget()
    try:
        key_check.ensure(ports)  # seals (first start) or opens the stored value
        other = make_ports(MAILPROXY_ENCRYPTION_KEY="not-this-databases-key")
        key_check.forget()
        with pytest.raises(ConfigurationError) as failure:
            key_check.ensure(other)
        assert "MAILPROXY_ENCRYPTION_KEY" in str(failure.value) and "not-this" not in str(failure.value)
        # Rotating: the new key first, the old one after it, reads what the old one sealed.
        rotating = make_ports(MAILPROXY_ENCRYPTION_KEY=f"not-this-databases-key,{ports.settings.encryption_key}")
        key_check.forget()
        key_check.ensure(rotating)
    finally:
        key_check.forget()
        key_check.ensure(ports)


def test_a_tenant_key_sees_no_other_tenants_accounts_in_status(ports: Ports) -> None:
    from chalicelib.services.auth import Principal

    assert "accounts" not in observability.status(ports, Principal("some-tenant"))
    assert "settings" not in observability.status(ports, Principal("some-tenant"))
