"""MIME building (docs/api.md §5.3) with the standard library's email package.

email.policy.SMTP does RFC 2047 encoded-words for non-ASCII headers, RFC 2231 for
filenames and quoted-printable/base64 bodies, so none of that is written here.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.headerregistry import HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, parseaddr
from functools import lru_cache
from typing import Any

from chalicelib.domain.addresses import address_list

TRACKING_HEADER = "X-Genro-Mail-ID"


class _CachedHeaderRegistry(HeaderRegistry):
    """HeaderRegistry builds a new class on every lookup; the classes depend only on the
    header name, so keep them (a third of MIME building time on the dispatch path)."""

    def __init__(self) -> None:
        super().__init__()
        self._cache: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        cls = self._cache.get(key)
        if cls is None:
            cls = self._cache[key] = super().__getitem__(name)
        return cls


# 7-bit transport: non-ASCII bodies go out quoted-printable or base64, whichever is shorter,
# so no relay on the way needs 8BITMIME.
_REGISTRY = _CachedHeaderRegistry()
_POLICY = policy.SMTP.clone(cte_type="7bit", header_factory=_REGISTRY)
_MD5_MARKER = re.compile(r"\{MD5:[0-9a-fA-F]*\}")


@dataclass(frozen=True)
class AttachmentData:
    filename: str
    content: bytes
    mime_type: str


@dataclass(frozen=True)
class Envelope:
    sender: str
    recipients: list[str]


def clean_filename(raw: str) -> str:
    """Drop an ``{MD5:<hex>}`` marker and any directory part."""
    name = _MD5_MARKER.sub("", raw)
    name = re.split(r"[/\\]", name)[-1]
    return name.strip() or "attachment"


def attachment_type(filename: str, mime_type: str | None) -> str:
    if mime_type and "/" in mime_type:
        return mime_type
    guessed, _ = mimetypes.guess_type(filename)
    return guessed or "application/octet-stream"


def safe_address(address: str) -> bool:
    """An envelope address SMTP can carry: printable ASCII or UTF-8 text, no line break."""
    return bool(address) and all(c >= " " and c not in "\x7f\x85\u2028\u2029" for c in address)


@lru_cache(maxsize=8192)
def _mailbox(value: str) -> str:
    """The address part of one sender value (its display name dropped)."""
    return parseaddr(value)[1] or value


@lru_cache(maxsize=8192)
def _addresses(values: tuple[str, ...]) -> tuple[str, ...]:
    """The addresses of a recipient field, parsed once per distinct field: a batch repeats
    its recipients, and the email package's parser is the costliest step of the check."""
    return tuple(addr for _, addr in getaddresses(list(values)))


def envelope(message: Mapping[str, Any], bounce_return_path: str | None) -> Envelope:
    """MAIL FROM and the de-duplicated RCPT TO list."""
    sender = _mailbox(message.get("return_path") or bounce_return_path or message["from"])
    seen: set[str] = set()
    recipients: list[str] = []
    for field in ("to", "cc", "bcc"):
        for addr in _addresses(tuple(address_list(message.get(field)))):
            if addr and addr.lower() not in seen:
                seen.add(addr.lower())
                recipients.append(addr)
    return Envelope(sender, recipients)


def header_fields(message: Mapping[str, Any], now: datetime) -> list[tuple[str, str]]:
    """The headers to transmit, in order (docs/api.md §5.3); never a Bcc header."""
    fields = [("From", message["from"]), ("To", ", ".join(address_list(message.get("to"))))]
    cc = address_list(message.get("cc"))
    if cc:
        fields.append(("Cc", ", ".join(cc)))
    fields.append(("Subject", message["subject"]))
    if message.get("reply_to"):
        fields.append(("Reply-To", message["reply_to"]))
    if message.get("message_id"):
        fields.append(("Message-ID", message["message_id"]))
    custom = {k: v for k, v in (message.get("headers") or {}).items() if v is not None}
    if not any(k.lower() == "date" for k in custom):
        fields.append(("Date", format_datetime(now.astimezone(UTC))))
    for name, value in custom.items():
        if name.lower() in (TRACKING_HEADER.lower(), "bcc"):  # never transmitted (docs/api.md §5.3)
            continue
        fields.append((name, value if isinstance(value, str) else str(value)))
    fields.append((TRACKING_HEADER, message["id"]))
    return fields


_CHECK_TIME = datetime(2000, 1, 1, tzinfo=UTC)
# Printable ASCII, spaces and tabs, and no "=?" (which the parser would read as the start of
# an encoded word, whose decoding can fail to serialise): an unstructured header of that text
# always builds, so the email package is not asked (a third of the API's time per message
# with a different Subject each). tests/unit/test_mime_plain_headers.py holds it to that.
_PLAIN_TEXT = re.compile(r"[\t\x20-\x7e]*")


def plain_unstructured(name: str, value: str) -> bool:
    """Does this value, in an unstructured header, serialise as it is, with no check?"""
    plain = "=?" not in value and _PLAIN_TEXT.fullmatch(value) is not None
    return plain and issubclass(_REGISTRY[name], UnstructuredHeader)


@lru_cache(maxsize=4096)
def _header_builds(name: str, value: str) -> bool:
    try:
        _, header = _POLICY.header_store_parse(name, value)
        _POLICY.fold_binary(name, header)
    except Exception:  # noqa: BLE001 - any failure of the email package means "cannot build"
        return False
    return True


def headers_build(message: Mapping[str, Any]) -> bool:
    """Do the message's headers parse and serialise as build_mime will do them? The email
    package raises on some malformed addresses and message ids (and on non-ASCII where only
    ASCII may go); a message that passes this builds at dispatch.

    Only the headers the email package parses (addresses, ids, dates, the subject) are
    built: an unstructured header free of line breaks (headers_invalid) always serialises.
    Results are cached: a batch repeats its From, its Subject, often its To.
    """
    structured = _REGISTRY.registry
    try:
        for name, value in header_fields(message, _CHECK_TIME):
            if name.lower() in structured and not (plain_unstructured(name, value) or _header_builds(name, value)):
                return False
        env = envelope(message, None)
        if not all(safe_address(a) for a in (env.sender, *env.recipients)):
            return False
    except Exception:  # noqa: BLE001 - any failure of the email package means "cannot build"
        return False
    return True


def build_mime(message: Mapping[str, Any], attachments: Sequence[AttachmentData], now: datetime) -> EmailMessage:
    """The message to transmit: headers, body part, attachments; never a Bcc header."""
    mime = EmailMessage(policy=_POLICY)
    for name, value in header_fields(message, now):
        del mime[name]  # a custom header replaces one of the same name
        mime[name] = value

    subtype = "html" if message.get("content_type") == "html" else "plain"
    mime.set_content(message.get("body") or "", subtype=subtype, charset="utf-8")
    for att in attachments:
        maintype, _, sub = att.mime_type.partition("/")
        mime.add_attachment(att.content, maintype=maintype, subtype=sub or "octet-stream", filename=att.filename)
    return mime
