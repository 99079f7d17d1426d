"""API v1's views of stored rows: tenant info, account info, message records and their history
(docs/api.md 4.4, 4.5, 4.6). Pure."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.domain.messages import derive_status, held
from chalicelib.domain.rows import AccountRow, Row, TenantRow


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with its offset, whatever the database session's time zone."""
    return None if value is None else value.astimezone(UTC).isoformat()


def drop_nulls(data: Row) -> Row:
    return {k: v for k, v in data.items() if v is not None}


def public_auth(auth: Row | None) -> Row | None:
    if not auth:
        return None
    return drop_nulls({"method": auth.get("method"), "user": auth.get("user")})


def public_large_file_config(config: Row | None) -> Row | None:
    if config is None:
        return None
    return {k: v for k, v in config.items() if k != "storage_secret_access_key_enc"}


def public_dkim(config: Row | None) -> Row | None:
    """DKIM as TenantInfo shows it: never the key, and the DNS record to publish."""
    if not config:
        return None
    return {k: config.get(k) for k in ("domain", "selector", "algorithm", "dns_record")}


def tenant_info(row: TenantRow) -> Row:
    return drop_nulls(
        {
            "id": row["id"],
            "name": row.get("name"),
            "client_auth": public_auth(row.get("client_auth")),
            "client_base_url": row.get("client_base_url"),
            "client_sync_path": row.get("client_sync_path"),
            "client_attachment_path": row.get("client_attachment_path"),
            "rate_limits": row.get("rate_limits"),
            "large_file_config": public_large_file_config(row.get("large_file_config")),
            "active": row["active"],
            "retention_days": row["retention_days"],
            "suppression_enabled": row.get("suppression_enabled", True),
            "report_extensions": row.get("report_extensions", False),
            "unsubscribe": row.get("unsubscribe"),
            "dkim": public_dkim(row.get("dkim")),
            "isolation": "dedicated" if row.get("queue_url") else "pool",
            "created_at": iso(row.get("created_at")),
            "updated_at": iso(row.get("updated_at")),
        }
    )


def account_info(row: AccountRow) -> Row:
    return drop_nulls(
        {
            "id": row["id"],
            "tenant_id": row["tenant_id"],
            "host": row["host"],
            "port": row["port"],
            "user": row.get("username"),
            "ttl": row.get("ttl"),
            "limit_per_minute": row.get("limit_per_minute"),
            "limit_per_hour": row.get("limit_per_hour"),
            "limit_per_day": row.get("limit_per_day"),
            "limit_behavior": row.get("limit_behavior"),
            "use_tls": row.get("use_tls"),
            "batch_size": row.get("batch_size"),
            "is_pec_account": row.get("is_pec_account"),
            "imap_host": row.get("imap_host"),
            "imap_port": row.get("imap_port"),
            "created_at": iso(row.get("created_at")),
            "updated_at": iso(row.get("updated_at")),
        }
    )


def history_entry(event: Row) -> Row:
    return drop_nulls(
        {
            "event_id": event["event_id"],
            "event_type": event["event_type"],
            "event_ts": event["event_ts"],
            "description": event.get("description"),
            "metadata": event.get("metadata"),
            "reported_ts": event.get("reported_ts"),
        }
    )


def _deferred_until(row: Row) -> int | None:
    """A message held by its account's spent rate window keeps the deferred_ts of its first
    hold (no write per message per window, services/throttle.py): it waits until the later of
    the two."""
    deferred, held_until = row.get("deferred_ts"), row.get("rate_held_until")
    if deferred is not None and held_until is not None and row["status"] == "pending":
        return max(int(deferred), int(held_until))
    return deferred


def message_record(row: Row, history: list[Row] | None) -> Row:
    status = derive_status(row["status"], row.get("deferred_ts"), held(row.get("batch_code"), row["suspended_batches"]))
    payload = dict(row["payload"])
    if row["retry_count"] > 0:
        payload["retry_count"] = row["retry_count"]
    finished_error = row["status"] == "error"
    record = drop_nulls(
        {
            "pk": str(row["pk"]),
            "id": row["id"],
            "tenant_id": row["tenant_id"],
            "tenant_name": row.get("tenant_name"),
            "account_id": row["account_id"],
            "batch_code": row.get("batch_code"),
            "priority": row["priority"],
            "status": status,
            "deferred_ts": _deferred_until(row),
            "sent_ts": row.get("sent_ts"),
            "error_ts": row.get("error_ts") if finished_error else None,
            "error": row.get("error") if finished_error else None,
            "last_error": row.get("last_error"),
            "reported_ts": row.get("reported_ts"),
            "bounce_type": row.get("bounce_type"),
            "bounce_code": row.get("bounce_code"),
            "bounce_reason": row.get("bounce_reason"),
            "bounce_ts": row.get("bounce_ts"),
            "created_at": iso(row.get("created_at")),
            "updated_at": iso(row.get("updated_at")),
            "message": payload,
            "is_pec": row.get("is_pec", False),
            "unsubscribed_ts": row.get("unsubscribed_ts"),
            "complaint_ts": row.get("complaint_ts"),
        }
    )
    record["retry_count"] = row["retry_count"]
    if history is not None:
        record["history"] = [history_entry(e) for e in history]
    return record
