"""DKIM keys and signatures (extension 7.4), checked with dkimpy's own verifier."""

from __future__ import annotations

from datetime import UTC, datetime

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from chalicelib.domain import signing
from chalicelib.domain.wire import message_bytes

# cryptography no longer generates RSA keys under 1024 bits; tenants may still bring one.
WEAK_RSA_512 = """-----BEGIN PRIVATE KEY-----
MIIBVAIBADANBgkqhkiG9w0BAQEFAASCAT4wggE6AgEAAkEAyAl+LMDA0329h9lV
8+neatTyuIiaF+k6VaiKmIQyMetyYO5NIhHuEJC6+3gVu1SZqDld4p/DMjuMnw3S
+c/eqwIDAQABAkAQrXnvkUKCX4FlyiD4bQ82KPrzl7ABPli2u46SmLL2plzryOoD
NCXK4+xbtaFX1DQPTUaRBd04NtV7IiOFPHmBAiEA6CVVm6ipNYpsjIBWxWVBFfWk
XO3Ls5XqeuNKW7g68JMCIQDcl4cuGGrsSzb1JrQBXm/pe8vTrueiQQvWC54MFnpg
iQIgVOVqZE2O6/yea9d3ZCL+ZWh63l08VIWrxZsfk2FRdK8CIQDVyhW9WvTlpc/R
sHzshrY3tz9IHU9pNVlfTUsTtAVO4QIgbJbOKbIN5MmKlSr1/prUPACQub7+Q0gG
U6zzoSg2e/0=
-----END PRIVATE KEY-----
"""


def _pem(key: object) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,  # type: ignore[attr-defined]
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(scope="module")
def rsa_pem() -> str:
    return _pem(rsa.generate_private_key(65537, 2048))


def _verify(data: bytes, record: str) -> bool:
    return bool(dkim.verify(data, dnsfunc=lambda name, timeout=5: record.encode()))


@pytest.mark.parametrize("algorithm", [signing.RSA, signing.ED25519])
def test_a_signed_message_verifies_against_the_published_record_and_a_tampered_one_fails(
    algorithm: str, rsa_pem: str
) -> None:
    pem = rsa_pem if algorithm == signing.RSA else _pem(ed25519.Ed25519PrivateKey.generate())
    key = signing.load(pem, algorithm)
    assert key.dns_record.startswith(f"v=DKIM1; k={'rsa' if algorithm == signing.RSA else 'ed25519'}; p=")
    data = message_bytes(
        {
            "id": "m",
            "from": "Shop <shop@example.com>",
            "to": ["a@example.com"],
            "subject": "Grüße — ünïcödé",
            "body": "body " * 100,
            "headers": {
                "List-Unsubscribe": "<https://x.example/unsubscribe/t>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        },
        [],
        datetime.now(UTC),
    )
    signed = signing.sign(data, "example.com", "s1", key, algorithm)
    header = signed.split(b"\r\n\r\n")[0]
    assert b"c=relaxed/relaxed" in header and b"d=example.com" in header and b"s=s1" in header
    assert b"list-unsubscribe" in header.lower()
    assert _verify(signed, key.dns_record)
    assert not _verify(signed.replace(b"body body", b"body bodx", 1), key.dns_record)


@pytest.mark.parametrize(
    "pem, algorithm",
    [
        ("not a key", signing.RSA),
        ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", signing.RSA),
    ],
)
def test_a_key_that_does_not_parse_is_refused(pem: str, algorithm: str) -> None:
    with pytest.raises(signing.KeyRefused):
        signing.load(pem, algorithm)


def test_a_key_of_the_other_algorithm_or_a_weak_rsa_key_is_refused(rsa_pem: str) -> None:
    with pytest.raises(signing.KeyRefused):
        signing.load(rsa_pem, signing.ED25519)
    with pytest.raises(signing.KeyRefused):
        signing.load(_pem(ed25519.Ed25519PrivateKey.generate()), signing.RSA)
    with pytest.raises(signing.KeyRefused):
        signing.load(_pem(ec.generate_private_key(ec.SECP256R1())), signing.RSA)
    with pytest.raises(signing.KeyRefused, match="1024"):
        signing.load(WEAK_RSA_512, signing.RSA)
