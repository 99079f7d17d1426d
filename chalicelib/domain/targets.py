"""Where an adapter connects to, as plain values: what the services hand the ports."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SmtpTarget:
    """One tenant SMTP account (docs/api.md §4.5); the password already decrypted."""

    host: str
    port: int
    user: str | None
    password: str | None
    use_tls: bool | None


@dataclass(frozen=True)
class StorageTarget:
    """A tenant's S3-compatible store (docs/api.md §5.6); None endpoint means AWS itself."""

    endpoint_url: str | None
    region: str
    access_key_id: str | None
    secret_access_key: str | None


@dataclass(frozen=True)
class MailboxTarget:
    """The instance's bounce mailbox (docs/api.md §5.11)."""

    host: str
    port: int
    use_ssl: bool
    user: str
    password: str
    folder: str
    timeout: float = 30.0
