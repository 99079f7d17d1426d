"""The stored rows that cross layers, typed: mypy sees a misspelt column, and a functional
test checks every key here against the migrated tables."""

from datetime import datetime
from typing import Any, NotRequired, TypedDict
from uuid import UUID

# A JSON object as it comes and goes (a request body, an answer), or a row before it is typed.
Row = dict[str, Any]


class InstanceRow(TypedDict):
    id: int
    name: str
    bounce_enabled: bool
    bounce_imap_host: str | None
    bounce_imap_port: int
    bounce_imap_user: str | None
    bounce_imap_password_enc: str | None
    bounce_imap_folder: str
    bounce_imap_ssl: bool
    bounce_poll_interval: int
    bounce_return_path: str | None
    bounce_last_uid: int | None
    bounce_last_sync: datetime | None
    bounce_uidvalidity: int | None
    bounce_next_poll_ts: int | None
    bounce_lease_until: float | None
    created_at: datetime
    updated_at: datetime


class TenantRow(TypedDict):
    id: str
    name: str | None
    client_auth: dict[str, Any] | None
    client_base_url: str | None
    client_sync_path: str | None
    client_attachment_path: str | None
    rate_limits: dict[str, Any] | None
    large_file_config: dict[str, Any] | None
    active: bool
    retention_days: int
    suspended_batches: list[str]
    signing_secret_enc: str
    queue_url: str | None
    dlq_url: str | None
    last_sync_ts: float | None
    report_failures: int
    report_next_attempt_ts: int | None
    report_lease_until: float | None
    suppression_enabled: bool
    report_extensions: bool
    unsubscribe: dict[str, Any] | None
    dkim: dict[str, Any] | None
    work_outstanding: bool
    work_sent_ts: int | None
    created_at: datetime
    updated_at: datetime
    # Added by the dispatch read, not a column: the instance settings it sends under.
    instance: NotRequired[InstanceRow | dict[str, Any]]


class AccountRow(TypedDict):
    tenant_id: str
    id: str
    host: str
    port: int
    username: str | None
    password_enc: str | None
    ttl: int
    limit_per_minute: int | None
    limit_per_hour: int | None
    limit_per_day: int | None
    limit_behavior: str
    use_tls: bool | None
    batch_size: int
    is_pec_account: bool
    imap_host: str | None
    imap_port: int | None
    imap_user: str | None
    imap_password_enc: str | None
    imap_ssl: bool | None
    dispatch_owner: str | None
    dispatch_lease_until: int | None
    secret_error: str | None  # its password is unreadable with today's key (migration 011)
    rate_held_until: int | None  # its rate window is spent until then (migration 014)
    created_at: datetime
    updated_at: datetime


class MessageRow(TypedDict):
    pk: UUID
    tenant_id: str
    id: str
    account_id: str
    priority: int
    batch_code: str | None
    payload: dict[str, Any]
    secrets_enc: str | None
    status: str
    deferred_ts: int | None
    retry_count: int
    last_error: str | None
    sent_ts: int | None
    error_ts: int | None
    error: str | None
    bounce_type: str | None
    bounce_code: str | None
    bounce_reason: str | None
    bounce_ts: int | None
    is_pec: bool
    held: bool  # a suspended batch's, set aside (migration 017; services/holds.py)
    claim_owner: str | None
    claim_expires: int | None
    unsubscribed_ts: int | None
    complaint_ts: int | None
    recipients: list[str] | None
    acked_ts: int | None
    created_at: datetime
    updated_at: datetime


# Table of each row type, for the check against the database.
TABLES: dict[str, type] = {
    "instance_settings": InstanceRow,
    "tenants": TenantRow,
    "accounts": AccountRow,
    "messages": MessageRow,
}
