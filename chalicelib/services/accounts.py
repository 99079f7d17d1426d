"""SMTP account use cases (docs/api.md §3.3)."""

from __future__ import annotations

from chalicelib.domain import defaults
from chalicelib.domain.outbound import save_warning
from chalicelib.domain.rows import Row
from chalicelib.domain.views import account_info
from chalicelib.errors import BusinessRuleError, tenant_not_found
from chalicelib.services.auth import Principal
from chalicelib.services.ports import Ports


def _limit(value: int | None) -> int | None:
    return value if value is not None and value > 0 else None


def upsert(ports: Ports, principal: Principal, payload: Row) -> Row:
    """Full replacement: omitted fields take their defaults, an omitted password none."""
    principal.scope(payload["tenant_id"])
    enc = ports.cipher.encrypt_opt
    fields: Row = {
        "host": payload["host"],
        "port": payload["port"],
        "username": payload.get("user"),
        "password_enc": enc(payload.get("password")),
        "ttl": payload.get("ttl") if payload.get("ttl") is not None else defaults.ACCOUNT["ttl"],
        "limit_per_minute": _limit(payload.get("limit_per_minute")),
        "limit_per_hour": _limit(payload.get("limit_per_hour")),
        "limit_per_day": _limit(payload.get("limit_per_day")),
        "limit_behavior": payload.get("limit_behavior") or defaults.ACCOUNT["limit_behavior"],
        "use_tls": payload.get("use_tls"),
        "batch_size": payload.get("batch_size") or defaults.ACCOUNT["batch_size"],
        "is_pec_account": bool(payload.get("is_pec_account")),
        "imap_host": payload.get("imap_host"),
        "imap_port": payload.get("imap_port"),
        "imap_user": payload.get("imap_user"),
        "imap_password_enc": enc(payload.get("imap_password")),
        "imap_ssl": payload.get("imap_ssl"),
    }
    if not ports.accounts.upsert(payload["tenant_id"], payload["id"], fields):
        raise tenant_not_found(payload["tenant_id"])
    # Saved all the same (the operator may allow it later), but said now, not at send time.
    warning = save_warning(ports.settings.outbound, payload["host"], payload["port"])
    return {"ok": True, "warnings": [warning]} if warning else {"ok": True}


def list_for(ports: Ports, principal: Principal, tenant_id: str) -> Row:
    principal.scope(tenant_id)
    return {"ok": True, "accounts": [account_info(r) for r in ports.accounts.list_for(tenant_id)]}


def delete(ports: Ports, principal: Principal, tenant_id: str, account_id: str) -> Row:
    principal.scope(tenant_id)
    if not ports.accounts.delete(tenant_id, account_id):
        raise BusinessRuleError("account not found or not owned by tenant")
    return {"ok": True}
