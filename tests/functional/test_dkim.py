"""DKIM (extension 7.4): the bytes a real SMTP server receives verify with dkimpy against
the record the tenant is told to publish (DNS stubbed with that record)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from chalicelib import wiring
from chalicelib.services import tenants
from chalicelib.services.ports import Ports
from tests.support.routes import InProcessApi
from tests.support.world import ADMIN, World


def _pem(key: object) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,  # type: ignore[attr-defined]
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(scope="module")
def keys() -> dict[str, str]:
    return {
        "rsa-sha256": _pem(rsa.generate_private_key(65537, 2048)),
        "ed25519-sha256": _pem(ed25519.Ed25519PrivateKey.generate()),
    }


@pytest.fixture
def api(make_ports: Callable[..., Ports]) -> Iterator[InProcessApi]:
    ports = make_ports(MAILPROXY_PUBLIC_URL="https://mp.example.com/api")
    with wiring.ports_in_use(ports):
        yield InProcessApi(ports.settings.api_token)


def _verifies(data: bytes, record: str) -> bool:
    return bool(dkim.verify(data, dnsfunc=lambda name, timeout=5: record.encode()))


@pytest.mark.parametrize("algorithm", ["rsa-sha256", "ed25519-sha256"])
def test_what_the_smtp_server_receives_verifies_against_the_published_record(
    algorithm: str, keys: dict[str, str], make_world: Callable[..., World], make_ports: Callable[..., Ports]
) -> None:
    world = make_world(make_ports(MAILPROXY_PUBLIC_URL="https://mp.example.com/api"))
    tenants.update(
        world.ports,
        ADMIN,
        world.tenant_id,
        {
            "dkim": {
                "domain": "Example.com",
                "selector": "mp2026",
                "private_key": keys[algorithm],
                "algorithm": algorithm,
            },
            "unsubscribe": {"enabled": True},
        },
    )
    info = tenants.get(world.ports, ADMIN, world.tenant_id)["dkim"]
    assert set(info) == {"domain", "selector", "algorithm", "dns_record"} and info["domain"] == "example.com"
    attachment = {
        "filename": "report.pdf",
        "storage_path": base64.b64encode(b"%PDF-1.4 data").decode(),
        "fetch_mode": "base64",
    }
    row = world.send_one(subject="Grüße aus Köln — ✓", attachments=[attachment])
    [received] = world.sink.by_id(row["id"])
    header = received.data.split(b"\r\n", 1)[0]
    assert header.startswith(b"DKIM-Signature:") and f"a={algorithm}".encode() in received.data[:400]
    signed = received.data.split(b"\r\n\r\n")[0].lower()
    assert b"list-unsubscribe" in signed and received.message["List-Unsubscribe"]
    assert _verifies(received.data, info["dns_record"])
    assert not _verifies(received.data.replace(b"JVBERi0x", b"JVBERi0y", 1), info["dns_record"]), "tampered body"


def test_the_key_is_checked_on_write_and_never_shown(api: InProcessApi, keys: dict[str, str]) -> None:
    tenant = {
        "id": "dkim-tenant",
        "dkim": {"domain": "example.com", "selector": "s1", "private_key": keys["rsa-sha256"]},
    }
    created = api.ok("POST", "/tenant", json=tenant)
    try:
        info = api.as_token(created["api_key"]).ok("GET", "/tenant/dkim-tenant")
        assert info["dkim"]["algorithm"] == "rsa-sha256" and info["dkim"]["dns_record"].startswith("v=DKIM1; k=rsa;")
        assert "PRIVATE" not in str(info) and "private_key" not in str(info)
        for bad in (
            {"private_key": "garbage"},
            {"private_key": keys["ed25519-sha256"]},
            {"private_key": keys["rsa-sha256"], "algorithm": "ed25519-sha256"},
        ):
            answer = api.put("/tenant/dkim-tenant", json={"dkim": {"domain": "example.com", "selector": "s1", **bad}})
            assert answer.status_code == 422
            assert answer.json()["detail"][0]["loc"] == ["body", "dkim", "private_key"]
            assert "PRIVATE" not in answer.text
        kept = api.put("/tenant/dkim-tenant", json={"dkim": {"domain": "example.com", "selector": "s2"}})
        assert kept.status_code == 200, "no key named: the stored one is kept"
        log = api.ok("GET", "/command-log", params={"tenant_id": "dkim-tenant"})["commands"]
        assert "PRIVATE" not in str(log)
    finally:
        api.delete("/tenant/dkim-tenant")
