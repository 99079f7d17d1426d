"""Large attachments (docs/api.md §5.6): which go inline, which are refused, which become links."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.mime import AttachmentData

MB = 1_048_576
MAX_PRESIGN_DAYS = 7


@dataclass(frozen=True)
class LargeFilePlan:
    inline: list[AttachmentData]
    offload: list[AttachmentData]
    error: str | None = None


@dataclass(frozen=True)
class Link:
    filename: str
    size: int
    url: str


def plan(config: dict[str, Any] | None, attachments: Sequence[AttachmentData]) -> LargeFilePlan:
    if not config or not config.get("enabled"):
        return LargeFilePlan(list(attachments), [])
    limit = config.get("max_size_mb") or 10.0
    action = config.get("action") or "warn"
    large = [a for a in attachments if len(a.content) > limit * MB]
    if not large or action == "warn":
        return LargeFilePlan(list(attachments), [])
    if action == "reject":
        first = large[0]
        return LargeFilePlan(
            [], [], f"Attachment '{first.filename}' ({len(first.content) / MB:.1f} MB) exceeds limit ({limit} MB)"
        )
    return LargeFilePlan([a for a in attachments if a not in large], large)


def bucket_and_prefix(storage_url: str) -> tuple[str, str]:
    rest = storage_url.removeprefix("s3://")
    bucket, _, prefix = rest.partition("/")
    return bucket, prefix.strip("/")


def object_key(prefix: str, unique: str, filename: str) -> str:
    return "/".join(p for p in (prefix, unique, filename) if p)


def presign_seconds(config: dict[str, Any]) -> int:
    days = config.get("file_ttl_days") or 30
    return min(days, MAX_PRESIGN_DAYS) * 86400


def with_links(body: str, is_html: bool, links: Sequence[Link]) -> str:
    """The body with the download list appended (plain text or HTML)."""
    if not links:
        return body
    if is_html:
        items = "".join(
            f'<li><a href="{html.escape(link.url)}">{html.escape(link.filename)}</a> ({link.size / MB:.1f} MB)</li>'
            for link in links
        )
        return f"{body}<hr><p>---</p><p>Download the attached files:</p><ul>{items}</ul>"
    lines = "\n".join(f"- {link.filename} ({link.size / MB:.1f} MB): {link.url}" for link in links)
    return f"{body}\n\n---\nDownload the attached files:\n{lines}\n"
