"""Tenant use cases (docs/api.md §3.5): lifecycle, keys, signing secret, queues."""

from __future__ import annotations

import logging

from chalicelib.domain import defaults, suppression
from chalicelib.domain.rows import Row, TenantRow
from chalicelib.domain.tokens import key_hash, new_token
from chalicelib.domain.views import tenant_info
from chalicelib.domain.work_records import Reason
from chalicelib.errors import RequestValidationError, tenant_not_found
from chalicelib.services import signing
from chalicelib.services.auth import Principal
from chalicelib.services.enqueue import enqueue
from chalicelib.services.ports import Ports

log = logging.getLogger(__name__)


def _client_auth(ports: Ports, new: Row | None, stored: Row | None) -> Row | None:
    """Encrypt secrets; keep the stored secret when the method is kept and it is omitted."""
    if new is None:
        return None
    out: Row = {"method": new["method"]}
    if new.get("user") is not None:
        out["user"] = new["user"]
    same_method = stored is not None and stored.get("method") == new["method"]
    for secret in ("token", "password"):
        if new.get(secret) is not None:
            out[f"{secret}_enc"] = ports.cipher.encrypt(new[secret])
        elif same_method and stored and stored.get(f"{secret}_enc"):
            out[f"{secret}_enc"] = stored[f"{secret}_enc"]
    needed = {"bearer": "token", "basic": "password"}.get(new["method"])
    if needed and f"{needed}_enc" not in out:
        raise RequestValidationError(
            [{"loc": ["body", "client_auth", needed], "msg": "Field required", "type": "missing"}]
        )
    return out


def _large_file_config(ports: Ports, new: Row | None, stored: Row | None) -> Row | None:
    if new is None:
        return None
    out = {k: v for k, v in new.items() if k != "storage_secret_access_key" and v is not None}
    secret = new.get("storage_secret_access_key")
    if secret is not None:
        out["storage_secret_access_key_enc"] = ports.cipher.encrypt(secret)
    elif stored and stored.get("storage_secret_access_key_enc"):
        out["storage_secret_access_key_enc"] = stored["storage_secret_access_key_enc"]
    return out


def _unsubscribe(config: Row) -> Row:
    """{"enabled", "mailto"}: the mailto (one address, checked at the door) goes into a header."""
    mailto = config.get("mailto")
    return {"enabled": bool(config.get("enabled")), "mailto": suppression.normal(mailto) if mailto else None}


def _columns(ports: Ports, payload: Row, stored: TenantRow | None, full: bool) -> Row:
    """Column values from a payload: all of them (full replacement) or the present ones."""
    cols: Row = {}
    for key, default in defaults.TENANT.items():
        present = payload.get(key) is not None
        if not full and not present:
            continue
        value = payload.get(key) if present else default
        if key == "client_auth":
            value = _client_auth(ports, value, stored and stored.get("client_auth"))
        elif key == "large_file_config":
            value = _large_file_config(ports, value, stored and stored.get("large_file_config"))
        elif key == "unsubscribe" and value is not None:
            value = _unsubscribe(value)
        elif key == "dkim":
            value = signing.stored_config(ports, value, stored and stored.get("dkim"))
        cols[key] = value
    return cols


def create_or_replace(ports: Ports, principal: Principal, payload: Row) -> Row:
    principal.require_admin()
    tenant_id = payload["id"]
    stored = ports.tenants.get(tenant_id)
    if stored is not None:
        ports.tenants.update(tenant_id, _columns(ports, payload, stored, full=True))
        _isolate(ports, tenant_id, stored, payload.get("isolation"))
        return {"ok": True}
    columns = _columns(ports, payload, None, full=True)  # may refuse (422) before anything is made
    # Pooled (the default): a database row and nothing else, no AWS call on this path.
    dedicated = payload.get("isolation") == "dedicated"
    queue_url, dlq_url = ports.queues.create(tenant_id) if dedicated else (None, None)
    api_key = new_token("mpk_")
    signing_secret = new_token("mps_")
    try:
        inserted = ports.tenants.insert(
            tenant_id,
            columns,
            ports.cipher.encrypt(signing_secret),
            key_hash(api_key),
            queue_url,
            dlq_url,
        )
    except Exception:
        ports.queues.delete(queue_url, dlq_url)
        raise
    if not inserted:
        # Created concurrently by another request: that one owns the key; replace fields.
        ports.tenants.update(tenant_id, columns)
        ports.queues.delete(queue_url, dlq_url)
        return {"ok": True}
    return {"ok": True, "api_key": api_key, "signing_secret": signing_secret}


def _isolate(ports: Ports, tenant_id: str, row: TenantRow, wanted: str | None) -> None:
    """Move a tenant between the pool and a queue of its own. Work records are claim checks
    (PostgreSQL holds the messages), so a queue is removed at once: the tenant's due work is
    sent a record in the pool, and anything else is the next tick's."""
    current = row.get("queue_url")
    if wanted == "dedicated" and not current:
        url, dlq = ports.queues.create(tenant_id)
        ports.tenants.set_queue_urls(tenant_id, url, dlq)
        enqueue(ports, [tenant_id], Reason.RUN_NOW, queue_urls={tenant_id: url})
    elif wanted == "pool" and current:
        ports.tenants.set_queue_urls(tenant_id, None, None)
        ports.queues.delete(current, row.get("dlq_url"))
        enqueue(ports, [tenant_id], Reason.RUN_NOW, queue_urls={tenant_id: None})


def update(ports: Ports, principal: Principal, tenant_id: str, payload: Row) -> Row:
    principal.scope(tenant_id)
    stored = ports.tenants.get(tenant_id)
    if stored is None:
        raise tenant_not_found(tenant_id)
    if payload.get("isolation") is not None:
        principal.require_admin()  # queues and mappings are the operator's to spend
    fields = _columns(ports, payload, stored, full=False)
    if not ports.tenants.update(tenant_id, fields):
        raise tenant_not_found(tenant_id)
    _isolate(ports, tenant_id, stored, payload.get("isolation"))
    return {"ok": True}


def get(ports: Ports, principal: Principal, tenant_id: str) -> Row:
    principal.scope(tenant_id)
    row = ports.tenants.get(tenant_id)
    if row is None:
        raise tenant_not_found(tenant_id)
    return tenant_info(row)


def list_all(ports: Ports, principal: Principal, active_only: bool) -> Row:
    principal.require_admin()
    return {"ok": True, "tenants": [tenant_info(r) for r in ports.tenants.list_all(active_only)]}


def delete(ports: Ports, principal: Principal, tenant_id: str) -> Row:
    principal.require_admin()
    row = ports.tenants.delete(tenant_id)
    if row is None:
        raise tenant_not_found(tenant_id)
    ports.queues.delete(row.get("queue_url"), row.get("dlq_url"))
    return {"ok": True}


def rotate_key(ports: Ports, principal: Principal, tenant_id: str, payload: Row) -> Row:
    principal.require_admin()
    api_key = new_token("mpk_")
    if not ports.keys.replace(tenant_id, key_hash(api_key), payload.get("expires_at")):
        raise tenant_not_found(tenant_id)
    return {"ok": True, "api_key": api_key}


def revoke_key(ports: Ports, principal: Principal, tenant_id: str) -> Row:
    principal.require_admin()
    if not ports.keys.revoke(tenant_id):
        raise tenant_not_found(tenant_id)
    return {"ok": True}


def new_signing_secret(ports: Ports, principal: Principal, tenant_id: str) -> Row:
    principal.require_admin()
    secret = new_token("mps_")
    if not ports.tenants.set_signing_secret(tenant_id, ports.cipher.encrypt(secret)):
        raise tenant_not_found(tenant_id)
    return {"ok": True, "signing_secret": secret}


def sync_status(ports: Ports, principal: Principal) -> Row:
    principal.require_admin()
    now = ports.clock()
    interval = ports.settings.report_interval
    tenants = []
    for row in ports.tenants.list_all():
        clock = row.get("last_sync_ts")
        in_dnd = clock is not None and clock > now
        entry: Row = {
            "id": row["id"],
            "name": row.get("name"),
            "active": row["active"],
            "client_base_url": row.get("client_base_url"),
            "in_dnd": in_dnd,
            "next_sync_due": (not in_dnd) and (clock is None or now - clock >= interval),
        }
        if clock is not None:
            entry["last_sync_ts"] = clock
        tenants.append({k: v for k, v in entry.items() if v is not None})
    return {"ok": True, "tenants": tenants, "sync_interval_seconds": interval}
