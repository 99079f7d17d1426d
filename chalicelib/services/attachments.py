"""Fetching a message's attachments (docs/api.md §5.5), in parallel, each within its timeout."""

from __future__ import annotations

import asyncio

from chalicelib.domain.attachments import (
    AttachmentError,
    confined_path,
    decode_base64,
    fetch_mode,
)
from chalicelib.domain.mime import AttachmentData, attachment_type, clean_filename
from chalicelib.domain.rows import Row, TenantRow
from chalicelib.errors import FetchError, MessageFailure
from chalicelib.services import client_app
from chalicelib.services.ports import Ports


class AttachmentFailure(MessageFailure):
    """Permanent: ``Attachment fetch failed for <filename>: <cause>``."""


def _read_file(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def _fetch_one(ports: Ports, tenant: TenantRow, att: Row, secrets: Row) -> bytes:
    path = att["storage_path"]
    mode = fetch_mode(path, att.get("fetch_mode"))
    timeout = ports.settings.attachment_timeout
    if mode == "base64":
        return decode_base64(path)
    if mode == "http_url":
        if not path.startswith(("http://", "https://")):
            raise AttachmentError("only http and https URLs are allowed")
        # The attachment's own auth only: the tenant's client_auth is for its application
        # (endpoint mode, reports), never for a URL a message names (docs/api.md §5.5).
        own = {**att["auth"], **secrets} if att.get("auth") else None
        return ports.http.get_bytes(path, own, timeout)
    if mode == "filesystem":
        real = confined_path(ports.settings.attachment_base_dir, path)
        try:
            return _read_file(real)
        except OSError as exc:
            raise AttachmentError(exc.strerror or "cannot read file") from None
    target = client_app.url(tenant, "client_attachment_path", "/mail-proxy/attachments")
    if target is None:
        raise AttachmentError("tenant has no client_base_url")
    status, content = client_app.post_signed(
        ports, tenant, target, {"storage_path": path}, _auth(ports, att, secrets, tenant), timeout
    )
    if not 200 <= status < 300:
        raise AttachmentError(f"HTTP {status}")
    return content


def _auth(ports: Ports, att: Row, secrets: Row, tenant: TenantRow) -> Row | None:
    """Attachment auth (secrets from the encrypted store) else the tenant's client_auth."""
    if att.get("auth"):
        return {**att["auth"], **secrets}
    return client_app.client_auth(ports, tenant)


async def fetch_all(
    ports: Ports,
    tenant: TenantRow,
    message: Row,
    secrets: dict[str, Row],
) -> list[AttachmentData]:
    attachments = message.get("attachments") or []

    async def one(index: int, att: Row) -> AttachmentData:
        name = clean_filename(att["filename"])
        try:
            content = await asyncio.wait_for(
                asyncio.to_thread(_fetch_one, ports, tenant, att, secrets.get(str(index), {})),
                timeout=ports.settings.attachment_timeout + 1,
            )
        except (AttachmentError, FetchError) as exc:
            raise AttachmentFailure(f"Attachment fetch failed for {name}: {exc}") from None
        except TimeoutError:
            raise AttachmentFailure(f"Attachment fetch failed for {name}: timed out") from None
        return AttachmentData(name, content, attachment_type(name, att.get("mime_type")))

    return list(await asyncio.gather(*(one(i, a) for i, a in enumerate(attachments))))
