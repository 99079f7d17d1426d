"""Extension 7.4 over the running stack: the packaged dispatch function signs with dkimpy;
what the SMTP server receives verifies against the record the API shows."""

from __future__ import annotations

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from tests.support.polling import eventually
from tests.support.tenants import TenantHandle


@pytest.mark.parametrize("algorithm", ["rsa-sha256", "ed25519-sha256"])
def test_the_received_bytes_verify_with_the_published_record(algorithm: str, tenant: TenantHandle) -> None:
    key = rsa.generate_private_key(65537, 2048) if algorithm == "rsa-sha256" else ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    tenant.client.ok(
        "PUT",
        f"/tenant/{tenant.id}",
        json={"dkim": {"domain": "example.com", "selector": "mp", "private_key": pem, "algorithm": algorithm}},
    )
    record = tenant.client.ok("GET", f"/tenant/{tenant.id}")["dkim"]["dns_record"]
    msg = tenant.message(subject="Ünïcödé ✓")
    tenant.client.ok("POST", "/commands/add-messages", json={"messages": [msg]})
    [received] = eventually(lambda: tenant.sink.by_id(msg["id"]), what="delivered")
    assert dkim.verify(received.data, dnsfunc=lambda name, timeout=5: record.encode())


def test_a_key_that_does_not_fit_is_422_and_no_key_is_ever_shown(tenant: TenantHandle) -> None:
    pem = (
        ed25519.Ed25519PrivateKey.generate()
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
    answer = tenant.client.put(
        f"/tenant/{tenant.id}",
        json={"dkim": {"domain": "example.com", "selector": "mp", "private_key": pem, "algorithm": "rsa-sha256"}},
    )
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["body", "dkim", "private_key"]
    tenant.client.ok(
        "PUT",
        f"/tenant/{tenant.id}",
        json={"dkim": {"domain": "example.com", "selector": "mp", "private_key": pem, "algorithm": "ed25519-sha256"}},
    )
    shown = tenant.client.get(f"/tenant/{tenant.id}").text
    assert "PRIVATE KEY" not in shown and "private_key" not in shown and "dns_record" in shown
