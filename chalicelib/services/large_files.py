"""Applying a tenant's large_file_config to a message's attachments (docs/api.md §5.6)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.large_files import (
    Link,
    bucket_and_prefix,
    object_key,
    plan,
    presign_seconds,
    with_links,
)
from chalicelib.domain.mime import AttachmentData
from chalicelib.domain.rows import TenantRow
from chalicelib.domain.targets import StorageTarget
from chalicelib.errors import MessageFailure, StorageError
from chalicelib.services.ports import Ports

log = logging.getLogger(__name__)


class LargeFileRejected(MessageFailure):
    """Permanent: the configured action is reject."""


@dataclass(frozen=True)
class Prepared:
    attachments: list[AttachmentData]
    body: str | None  # None: unchanged
    # Attachments that should have become links but were attached instead, and why: the
    # message's sent event carries them, so the tenant can see and fix its storage.
    fallbacks: tuple[str, ...] = ()


def _target(ports: Ports, config: dict[str, Any]) -> StorageTarget:
    secret_enc = config.get("storage_secret_access_key_enc")
    return StorageTarget(
        endpoint_url=config.get("storage_endpoint_url") or ports.settings.aws_endpoint_url,
        region=config.get("storage_region") or "us-east-1",
        access_key_id=config.get("storage_access_key_id"),
        secret_access_key=ports.cipher.decrypt(secret_enc) if secret_enc else None,
    )


def prepare(ports: Ports, tenant: TenantRow, message: dict[str, Any], attachments: list[AttachmentData]) -> Prepared:
    config = tenant.get("large_file_config")
    decided = plan(config, attachments)
    if decided.error:
        raise LargeFileRejected(decided.error)
    if not decided.offload or not config:
        return Prepared(attachments, None)
    target = _target(ports, config)
    bucket, prefix = bucket_and_prefix(config["storage_url"])
    links: list[Link] = []
    fallbacks: list[str] = []
    inline = list(decided.inline)
    for att in decided.offload:
        key = object_key(prefix, str(uuid.uuid4()), att.filename)
        try:
            ports.storage.upload(target, bucket, key, att.content, att.mime_type)
            public = config.get("public_base_url")
            url = (
                f"{public.rstrip('/')}/{key}"
                if public
                else ports.storage.presigned_get(target, bucket, key, presign_seconds(config))
            )
        except StorageError as exc:
            # API v1 prefers a heavy message to a lost attachment (docs/api.md §5.6).
            reason = f"{att.filename}: upload to {bucket} failed, attached instead: {exc}"[:500]
            log.warning(
                "large attachment upload failed, attaching it instead",
                extra={"message_id": message.get("id"), "reason": reason},
            )
            fallbacks.append(reason)
            inline.append(att)
            continue
        links.append(Link(att.filename, len(att.content), url))
    if not links:
        return Prepared(inline, None, tuple(fallbacks))
    body = with_links(message.get("body") or "", message.get("content_type") == "html", links)
    return Prepared(inline, body, tuple(fallbacks))
