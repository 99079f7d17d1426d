"""One claimed message made ready for the wire (docs/api.md §5.3-5.6): its sealed secrets,
its attachments (fetched, or moved to the tenant's storage as links), the unsubscribe
headers, the envelope, the MIME bytes and the DKIM signature. Done before a rate slot or an
SMTP connection is used: a message that cannot be built costs neither."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from chalicelib.domain.mime import Envelope, envelope, safe_address
from chalicelib.domain.rows import MessageRow, TenantRow
from chalicelib.domain.wire import message_bytes
from chalicelib.errors import SecretUnreadable
from chalicelib.services import large_files, unsubscribe
from chalicelib.services.attachments import AttachmentFailure, fetch_all
from chalicelib.services.ports import Ports

UNREADABLE_MESSAGE = (
    "the message's stored attachment credentials cannot be decrypted with this "
    "deployment's MAILPROXY_ENCRYPTION_KEY (stored under another key): set the key back, "
    "or submit the message again"
)


@dataclass(frozen=True)
class Built:
    envelope: Envelope
    data: bytes
    fallbacks: tuple[str, ...]  # large attachments attached instead of linked, and why


@dataclass(frozen=True)
class Unsendable:
    """The message cannot be sent as it is: it ends in error with this reason."""

    error: str


async def build(
    ports: Ports, tenant: TenantRow, message: MessageRow, sign: Callable[[bytes], bytes]
) -> Built | Unsendable:
    payload = message["payload"]
    try:
        sealed = message["secrets_enc"]
        secrets = json.loads(ports.cipher.decrypt(sealed)) if sealed else {}
        attachments = await fetch_all(ports, tenant, payload, secrets)
        # Uploading is blocking I/O; without attachments there is nothing to upload.
        prepared = (
            await asyncio.to_thread(large_files.prepare, ports, tenant, payload, attachments)
            if attachments
            else large_files.Prepared(attachments, None)
        )
    except (AttachmentFailure, large_files.LargeFileRejected) as exc:
        return Unsendable(str(exc))
    except SecretUnreadable:
        return Unsendable(UNREADABLE_MESSAGE)
    if prepared.body is not None:
        payload = {**payload, "body": prepared.body}
    listed = unsubscribe.headers_for(ports, tenant, payload)
    if listed:
        payload = {**payload, "headers": {**(payload.get("headers") or {}), **listed}}
    instance = tenant.get("instance") or {}
    bounce_path = instance.get("bounce_return_path") if instance.get("bounce_enabled") else None
    try:
        env = envelope(payload, bounce_path)
        if not env.recipients or not all(safe_address(a) for a in (env.sender, *env.recipients)):
            raise ValueError("an envelope address is empty or carries a line break")
        data = sign(message_bytes(payload, prepared.attachments, datetime.now(UTC)))
    except Exception as exc:  # noqa: BLE001 - whatever the email package raises: the message is unsendable
        return Unsendable(f"message cannot be built: {type(exc).__name__}: {exc}"[:500])
    return Built(env, data, prepared.fallbacks)
