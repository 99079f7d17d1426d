"""DKIM for a tenant (docs/api.md §7.4): its configuration stored with the key
encrypted and never shown, and the signature of each message a run sends."""

from __future__ import annotations

from chalicelib.domain import signing
from chalicelib.domain.rows import Row, TenantRow
from chalicelib.errors import KeyRefused, RequestValidationError
from chalicelib.services.ports import Ports


def _refused(field: str, why: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ["body", "dkim", field], "msg": why, "type": "value_error"}])


def stored_config(ports: Ports, new: Row | None, stored: Row | None) -> Row | None:
    """The column's value: the key checked (422 naming dkim.private_key) and encrypted; a
    change that names no key keeps the stored one if the algorithm is unchanged."""
    if new is None:
        return None
    algorithm = new.get("algorithm") or signing.RSA
    pem = new.get("private_key")
    if pem is None:
        if not stored or stored.get("algorithm") != algorithm or not stored.get("private_key_enc"):
            raise RequestValidationError(
                [{"loc": ["body", "dkim", "private_key"], "msg": "Field required", "type": "missing"}]
            )
        return {**stored, "domain": new["domain"].lower(), "selector": new["selector"]}
    try:
        key = signing.load(pem, algorithm)
    except KeyRefused as exc:
        raise _refused("private_key", str(exc)) from None
    return {
        "domain": new["domain"].lower(),
        "selector": new["selector"],
        "algorithm": algorithm,
        "dns_record": key.dns_record,
        "private_key_enc": ports.cipher.encrypt(key.private.decode()),
    }


class RunSigner:
    """Signs a run's messages for its tenant; the key is decrypted once per run."""

    def __init__(self, ports: Ports, tenant: TenantRow) -> None:
        self.config = tenant.get("dkim")
        self._key: signing.SigningKey | None = None
        if self.config:
            private = ports.cipher.decrypt(self.config["private_key_enc"]).encode()
            self._key = signing.SigningKey(private, self.config["dns_record"])

    def __call__(self, data: bytes) -> bytes:
        if self._key is None or not self.config:
            return data
        return signing.sign(data, self.config["domain"], self.config["selector"], self._key, self.config["algorithm"])
