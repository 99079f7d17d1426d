"""DKIM (docs/api.md §7.4, RFC 6376 and RFC 8463) with dkimpy, a library made for it:
keys checked when a tenant stores them, the DNS record to publish, the signature of the
exact bytes sent."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Final

from chalicelib.errors import KeyRefused

RSA: Final = "rsa-sha256"
ED25519: Final = "ed25519-sha256"
ALGORITHMS: Final = (RSA, ED25519)
MIN_RSA_BITS: Final = 1024
# Signed when present (docs/api.md §7.4); From always.
SIGNED_HEADERS: Final = (
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "Reply-To",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
)


@dataclass(frozen=True)
class SigningKey:
    """What dkimpy signs with (RSA: PKCS#1 PEM; Ed25519: base64 of the 32-byte seed) and the
    DNS TXT value that verifies it."""

    private: bytes
    dns_record: str


def load(pem: str, algorithm: str) -> SigningKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        raise KeyRefused("not a PEM private key without a passphrase") from exc
    if algorithm == RSA:
        if not isinstance(key, rsa.RSAPrivateKey):
            raise KeyRefused("not an RSA key")
        if key.key_size < MIN_RSA_BITS:
            raise KeyRefused(f"RSA keys need at least {MIN_RSA_BITS} bits")
        private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return SigningKey(private, f"v=DKIM1; k=rsa; p={base64.b64encode(public).decode()}")
    if algorithm == ED25519:
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise KeyRefused("not an Ed25519 key")
        seed = key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return SigningKey(base64.b64encode(seed), f"v=DKIM1; k=ed25519; p={base64.b64encode(public).decode()}")
    raise KeyRefused(f"unknown algorithm {algorithm!r}")


def sign(data: bytes, domain: str, selector: str, key: SigningKey, algorithm: str) -> bytes:
    """The message with its DKIM-Signature header first: relaxed/relaxed, over the signed
    headers the message has."""
    import dkim

    present = {
        line.split(b":", 1)[0].strip().lower()
        for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        if line and line[:1] not in (b" ", b"\t")
    }
    headers = [h.encode() for h in SIGNED_HEADERS if h.lower().encode() in present]
    signature = dkim.sign(
        data,
        selector.encode(),
        domain.encode(),
        key.private,
        canonicalize=(b"relaxed", b"relaxed"),
        signature_algorithm=algorithm.encode(),
        include_headers=headers,
    )
    return bytes(signature) + data
