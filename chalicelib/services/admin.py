"""Instance settings (docs/api.md §3.6, 4.7) and the command log (3.7, 5.14)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from chalicelib.domain import answers, defaults, schemas
from chalicelib.domain.rows import Row
from chalicelib.domain.views import drop_nulls, iso
from chalicelib.domain.work_records import SystemKind, SystemWork
from chalicelib.errors import BusinessRuleError, InfrastructureError
from chalicelib.services.auth import Principal
from chalicelib.services.ports import Ports

log = logging.getLogger(__name__)

_WRITABLE = (
    "name",
    "bounce_enabled",
    "bounce_imap_host",
    "bounce_imap_port",
    "bounce_imap_user",
    "bounce_imap_folder",
    "bounce_imap_ssl",
    "bounce_poll_interval",
    "bounce_return_path",
)


def instance_info(ports: Ports, principal: Principal) -> Row:
    principal.require_admin()
    row: Mapping[str, Any] = ports.instance.get() or {}
    info: Row = {"id": 1, **defaults.INSTANCE}
    for key in (*_WRITABLE, "bounce_last_uid", "bounce_uidvalidity"):
        if row.get(key) is not None:
            info[key] = row[key]
    info["bounce_last_sync"] = iso(row.get("bounce_last_sync"))
    info["created_at"] = iso(row.get("created_at"))
    info["updated_at"] = iso(row.get("updated_at"))
    return drop_nulls(info)


def update_instance(ports: Ports, principal: Principal, body: Row) -> Row:
    principal.require_admin()
    fields = {k: body[k] for k in _WRITABLE if body.get(k) is not None}
    if body.get("bounce_imap_password") is not None:
        fields["bounce_imap_password_enc"] = ports.cipher.encrypt(body["bounce_imap_password"])
    ports.instance.update(fields)
    return {"ok": True}


def reload_bounce(ports: Ports, principal: Principal) -> Row:
    principal.require_admin()
    row: Mapping[str, Any] = ports.instance.get() or {}
    if row.get("bounce_enabled") and not (row.get("bounce_imap_host") or "").strip():
        raise BusinessRuleError("Bounce enabled but imap_host not configured")
    if row.get("bounce_enabled"):
        # Poll now: clear the schedule and ask the dispatch function through the system
        # queue; should the send fail, the next tick finds the poll due anyway.
        ports.bounces.poll_now()
        try:
            ports.queues.notify_system(SystemWork(SystemKind.BOUNCE_POLL))
        except InfrastructureError as exc:
            log.warning("bounce poll request not queued; the next tick covers it: %s", exc)
    return {"ok": True}


def command_log(ports: Ports, principal: Principal, query: dict[str, str]) -> Row:
    principal.require_admin()
    limit = schemas.parse_int("limit", query.get("limit"), 0, schemas.MAX_LIST_LIMIT)
    rows = ports.audit.entries(
        query.get("tenant_id"),
        schemas.parse_int("since_ts", query.get("since_ts")),
        schemas.parse_int("until_ts", query.get("until_ts")),
        query.get("endpoint_filter"),
        100 if limit is None else limit,
    )
    commands = [
        drop_nulls(
            {
                "id": r["id"],
                "command_ts": r["command_ts"],
                "endpoint": r["endpoint"],
                "tenant_id": r["tenant_id"],
                "payload": r["payload"],
                "response_status": r["response_status"],
            }
        )
        for r in rows
    ]
    return _within_lambda(commands, counted=True)


def _within_lambda(commands: list[Row], counted: bool = False) -> Row:
    """Commands carry whole add-messages payloads: an answer Lambda could not return (a 502)
    is cut, oldest kept, and says so; the caller goes on from the last command_ts."""

    def build(kept: int) -> Row:
        answer: Row = {"ok": True, "commands": commands[:kept]}
        if kept < len(commands):
            answer["truncated"] = True
        if counted:
            answer["total"] = kept
        return answer

    return answers.fitted(build, commands)


def command_log_export(ports: Ports, principal: Principal, query: dict[str, str]) -> Row:
    principal.require_admin()
    rows = ports.audit.entries(
        query.get("tenant_id"),
        schemas.parse_int("since_ts", query.get("since_ts")),
        schemas.parse_int("until_ts", query.get("until_ts")),
        None,
        None,
    )
    return _within_lambda(
        [
            {
                "endpoint": r["endpoint"],
                "tenant_id": r["tenant_id"],
                "payload": r["payload"],
                "command_ts": r["command_ts"],
            }
            for r in rows
        ]
    )
