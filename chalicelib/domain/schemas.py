"""JSON Schemas of the request bodies (docs/api.md §4) and their validation.

jsonschema does the checking; this module only states the shapes and turns
jsonschema's errors into API v1's 422 list of {"loc", "msg", "type"}.
"""

from __future__ import annotations

from typing import Any

from chalicelib.domain.booleans import read_bool
from chalicelib.domain.json_input import ID_PATTERN
from chalicelib.errors import RequestValidationError

# Integers must fit the columns they are stored in (PostgreSQL integer / bigint) and the
# arithmetic done on them; times are Unix seconds up to 9999-12-31.
INT32 = 2**31 - 1
MAX_TS = 253_402_300_799
MAX_RETENTION_DAYS = 36_500
MAX_LIST_LIMIT = 100_000

_STR = {"type": "string"}
# Identifiers (tenant, account, message ids): ID_PATTERN (domain/json_input.py).
_ID = {"type": "string", "pattern": ID_PATTERN}
_ID1 = {**_ID, "minLength": 1}
_OPT_STR = {"type": ["string", "null"]}
_OPT_INT = {"type": ["integer", "null"], "minimum": -INT32 - 1, "maximum": INT32}
_OPT_TS = {"type": ["integer", "null"], "minimum": -MAX_TS, "maximum": MAX_TS}
_OPT_BOOL = {"type": ["boolean", "null"]}
# Address fields: "mailbox" is one address (a display name allowed), "mailbox-list" one or
# more comma-separated ones; both checked by domain/addresses.py (validation.py wires them).
MAILBOX = {"type": "string", "format": "mailbox"}
MAILBOX_LIST = {"type": "string", "format": "mailbox-list"}
_OPT_MAILBOX = {"type": ["string", "null"], "format": "mailbox"}
# Where no v1 per-message reason applies (suppressions, mailto, bounce return path): strict.
ADDRESS = {"type": "string", "format": "address"}
_OPT_ADDRESS = {"type": ["string", "null"], "format": "address"}
_RECIPIENTS = {"anyOf": [MAILBOX_LIST, {"type": "array", "items": MAILBOX_LIST}]}
_ADDRESSES = {"anyOf": [MAILBOX_LIST, {"type": "array", "items": MAILBOX_LIST}, {"type": "null"}]}
_PRIORITY = {
    "anyOf": [
        # Any integer: API v1 clamps it to 0..3 (docs/api.md §5.1), so no value reaches a
        # column out of range.
        {"type": "integer"},
        {"enum": ["immediate", "high", "medium", "low"]},
        {"type": "null"},
    ]
}

AUTH = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "method": {"enum": ["none", "bearer", "basic"]},
        "token": _OPT_STR,
        "user": _OPT_STR,
        "password": _OPT_STR,
    },
}

CLIENT_AUTH = {
    **AUTH,
    "required": ["method"],
    "allOf": [
        # The secret itself may be omitted: an update keeping the stored method keeps the
        # stored secret (docs/api.md §4.8); the tenant service requires it when none is stored.
        {
            "if": {"properties": {"method": {"const": "bearer"}}},
            "then": {"properties": {"token": {"type": ["string", "null"], "minLength": 1}}},
        },
        {
            "if": {"properties": {"method": {"const": "basic"}}},
            "then": {
                "required": ["user"],
                "properties": {
                    "user": {"type": "string", "minLength": 1},
                    "password": {"type": ["string", "null"]},
                },
            },
        },
    ],
}

ATTACHMENT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["filename", "storage_path"],
    "properties": {
        "filename": {"type": "string", "minLength": 1, "maxLength": 255},
        "storage_path": {"type": "string", "minLength": 1},
        "mime_type": _OPT_STR,
        "fetch_mode": {"enum": ["endpoint", "http_url", "base64", "filesystem", None]},
        "content_md5": {"anyOf": [{"type": "string", "pattern": "^[0-9a-fA-F]{32}$"}, {"type": "null"}]},
        "auth": {"anyOf": [AUTH, {"type": "null"}]},
    },
}

MESSAGE = {
    "type": "object",
    "required": ["id", "tenant_id", "account_id", "from", "to", "subject"],
    "properties": {
        "id": _ID,
        "tenant_id": _ID,
        "account_id": _ID,
        "from": MAILBOX,
        "to": _RECIPIENTS,
        "subject": {"type": "string", "minLength": 1},
        "cc": _ADDRESSES,
        "bcc": _ADDRESSES,
        "reply_to": {"type": ["string", "null"], "format": "mailbox-list"},
        "return_path": _OPT_MAILBOX,
        "body": _OPT_STR,
        "content_type": _OPT_STR,
        "headers": {
            "type": ["object", "null"],
            "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
        },
        "message_id": _OPT_STR,
        "attachments": {"type": ["array", "null"], "items": ATTACHMENT},
        "priority": _PRIORITY,
        "deferred_ts": _OPT_TS,
        "batch_code": {"type": ["string", "null"], "maxLength": 64},
        "unsubscribe": _OPT_BOOL,
    },
}

ADD_MESSAGES = {
    "type": "object",
    "required": ["messages"],
    "properties": {
        "messages": {"type": "array", "items": MESSAGE},
        "default_priority": _PRIORITY,
    },
}

DELETE_MESSAGES = {
    "type": "object",
    "properties": {"ids": {"type": ["array", "null"], "items": {"type": "string"}}},
}

CLEANUP = {
    "type": "object",
    "properties": {"older_than_seconds": _OPT_TS},
}

LARGE_FILE_CONFIG = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "enabled": _OPT_BOOL,
        "max_size_mb": {"type": ["number", "null"], "exclusiveMinimum": 0},
        "action": {"enum": ["warn", "reject", "rewrite", None]},
        "storage_url": {"anyOf": [{"type": "string", "pattern": "^s3://[^/]+"}, {"type": "null"}]},
        "storage_endpoint_url": _OPT_STR,
        "storage_region": _OPT_STR,
        "storage_access_key_id": _OPT_STR,
        "storage_secret_access_key": _OPT_STR,
        "public_base_url": _OPT_STR,
        "file_ttl_days": {"type": ["integer", "null"], "minimum": 1, "maximum": INT32},
        "lifespan_after_download_days": {"type": ["integer", "null"], "minimum": 0, "maximum": INT32},
    },
    "if": {
        "properties": {"enabled": {"const": True}, "action": {"const": "rewrite"}},
        "required": ["enabled", "action"],
    },
    "then": {"required": ["storage_url"], "properties": {"storage_url": {"type": "string"}}},
}

_TENANT_FIELDS: dict[str, Any] = {
    "name": _OPT_STR,
    # Extension (docs/api.md §7.7): the pooled dispatch path, or a queue of the tenant's own
    # (admin only). Not a column: a dedicated tenant is one with a queue.
    "isolation": {"enum": ["pool", "dedicated", None]},
    "client_auth": {"anyOf": [CLIENT_AUTH, {"type": "null"}]},
    "client_base_url": _OPT_STR,
    "client_sync_path": _OPT_STR,
    "client_attachment_path": _OPT_STR,
    "rate_limits": {"type": ["object", "null"]},
    "large_file_config": {"anyOf": [LARGE_FILE_CONFIG, {"type": "null"}]},
    "active": _OPT_BOOL,
    "retention_days": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_RETENTION_DAYS},
    # Extensions (7): compatible with v1 clients, which never send them.
    "suppression_enabled": _OPT_BOOL,
    "report_extensions": _OPT_BOOL,
    "unsubscribe": {
        "type": ["object", "null"],
        "additionalProperties": False,
        "properties": {"enabled": _OPT_BOOL, "mailto": {**_OPT_ADDRESS, "maxLength": 320}},
    },
    "dkim": {
        "anyOf": [
            {"type": "null"},
            {
                "type": "object",
                "required": ["domain", "selector"],
                "additionalProperties": False,
                "properties": {
                    "domain": {
                        "type": "string",
                        "maxLength": 253,
                        "pattern": r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$",
                    },
                    "selector": {
                        "type": "string",
                        "pattern": r"^[A-Za-z0-9]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_-]{1,63})*$",
                        "maxLength": 200,
                    },
                    "private_key": {"type": ["string", "null"], "maxLength": 20000},
                    "algorithm": {"enum": ["rsa-sha256", "ed25519-sha256", None]},
                },
            },
        ]
    },
}

TENANT_CREATE = {
    "type": "object",
    "required": ["id"],
    "properties": {"id": _ID1, **_TENANT_FIELDS},
}

TENANT_UPDATE = {"type": "object", "properties": dict(_TENANT_FIELDS)}

SUPPRESSIONS_ADD = {
    "type": "object",
    "required": ["tenant_id", "addresses"],
    "properties": {
        "tenant_id": {"type": "string", "minLength": 1},
        "addresses": {"type": "array", "minItems": 1, "maxItems": 1000, "items": ADDRESS},
        "detail": {"type": ["string", "null"], "maxLength": 500},
    },
}

ACCOUNT = {
    "type": "object",
    "required": ["id", "tenant_id", "host", "port"],
    "properties": {
        "id": _ID1,
        "tenant_id": _ID1,
        "host": {"type": "string", "minLength": 1},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "user": _OPT_STR,
        "password": _OPT_STR,
        "ttl": _OPT_INT,
        "limit_per_minute": _OPT_INT,
        "limit_per_hour": _OPT_INT,
        "limit_per_day": _OPT_INT,
        "limit_behavior": {"enum": ["defer", "reject", None]},
        "use_tls": _OPT_BOOL,
        "batch_size": {"type": ["integer", "null"], "minimum": 1, "maximum": INT32},
        "is_pec_account": _OPT_BOOL,
        "imap_host": _OPT_STR,
        "imap_port": {"type": ["integer", "null"], "minimum": 1, "maximum": 65535},
        "imap_user": _OPT_STR,
        "imap_password": _OPT_STR,
        "imap_ssl": _OPT_BOOL,
    },
}

INSTANCE_UPDATE = {
    "type": "object",
    "properties": {
        "name": _OPT_STR,
        "bounce_enabled": _OPT_BOOL,
        "bounce_imap_host": _OPT_STR,
        "bounce_imap_port": {"type": ["integer", "null"], "minimum": 1, "maximum": 65535},
        "bounce_imap_user": _OPT_STR,
        "bounce_imap_password": _OPT_STR,
        "bounce_imap_folder": _OPT_STR,
        "bounce_imap_ssl": _OPT_BOOL,
        "bounce_poll_interval": {"type": ["integer", "null"], "minimum": 1, "maximum": INT32},
        "bounce_return_path": _OPT_ADDRESS,
        "api_token": {},
    },
}

API_KEY = {
    "type": "object",
    "properties": {"expires_at": _OPT_TS},
}


def schema_errors(schema: dict[str, Any], data: Any, prefix: tuple[str | int, ...] = ("body",)) -> list[dict[str, Any]]:
    """All schema errors of ``data``, in API v1's 422 shape, ordered by location."""
    # jsonschema is imported by the first request that carries a body, not at cold start.
    from chalicelib.domain import validation

    return validation.schema_errors(schema, data, prefix)


def validate(schema: dict[str, Any], data: Any, prefix: tuple[str | int, ...] = ("body",)) -> None:
    """Raise RequestValidationError (422) when ``data`` does not fit ``schema``."""
    errors = schema_errors(schema, data, prefix)
    if errors:
        raise RequestValidationError(errors)


def parse_bool(name: str, raw: str | None, default: bool) -> bool:
    """A query boolean as API v1 reads it (docs/api.md §1); anything else is a 422."""
    if raw is None:
        return default
    value = read_bool(raw)
    if value is not None:
        return value
    raise RequestValidationError(
        [{"loc": ["query", name], "msg": "Input should be a valid boolean", "type": "bool_parsing"}]
    )


def parse_int(name: str, raw: str | None, minimum: int = -MAX_TS, maximum: int = MAX_TS) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise RequestValidationError(
            [{"loc": ["query", name], "msg": "Input should be a valid integer", "type": "int_parsing"}]
        ) from None
    if not minimum <= value <= maximum:
        raise RequestValidationError(
            [
                {
                    "loc": ["query", name],
                    "type": "value_error.range",
                    "msg": f"Input should be between {minimum} and {maximum}",
                }
            ]
        )
    return value


def require_query(name: str, raw: str | None) -> str:
    if raw is None:
        raise RequestValidationError([{"loc": ["query", name], "msg": "Field required", "type": "missing"}])
    return raw
