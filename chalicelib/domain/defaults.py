"""Column defaults, written once: the services fill omitted fields with these, and the
migrations declare the same values (a functional test compares them with the database)."""

from __future__ import annotations

from typing import Any, Final

TENANT: Final[dict[str, Any]] = {
    "name": None,
    "client_auth": None,
    "client_base_url": None,
    "client_sync_path": None,
    "client_attachment_path": None,
    "rate_limits": None,
    "large_file_config": None,
    "active": True,
    "retention_days": 7,
    "suppression_enabled": True,
    "report_extensions": False,
    "unsubscribe": None,
    "dkim": None,
}

ACCOUNT: Final[dict[str, Any]] = {"ttl": 300, "limit_behavior": "defer", "batch_size": 50, "is_pec_account": False}

INSTANCE: Final[dict[str, Any]] = {
    "name": "mail-proxy",
    "bounce_enabled": False,
    "bounce_imap_port": 993,
    "bounce_imap_folder": "INBOX",
    "bounce_imap_ssl": True,
    "bounce_poll_interval": 60,
}

MESSAGE: Final[dict[str, Any]] = {"priority": 2}

# Where each table's defaults live, for the comparison with the migrations.
TABLES: Final[dict[str, dict[str, Any]]] = {
    "tenants": {k: v for k, v in TENANT.items() if v is not None},
    "accounts": ACCOUNT,
    "instance_settings": INSTANCE,
    "messages": MESSAGE,
}
