"""The bytes of a message, by the cheapest correct path (docs/api.md §5.3).

``build_mime`` (the email package) costs about 0.9 ms a message, most of it parsing and
refolding headers that need neither, and choosing a body encoding through the generator.
For a message without attachments this module writes the same bytes directly:

- a header whose value is short printable ASCII words and no encoded-word is written as it
  is, which is what the email package folds it to;
- every other header (addresses, ids, dates, non-ASCII, long values) is folded by the email
  package once per distinct (name, value) and cached: a batch repeats its From and To, and
  its Date for a whole second;
- the body is encoded with the email package's own rule (7bit when ASCII with short lines,
  else quoted-printable or base64, whichever its sniff prefers).

Anything else (attachments, a custom MIME header) goes through ``build_mime``. The unit
tests compare both paths byte for byte over generated messages.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from email import quoprimime
from functools import lru_cache
from typing import Any

from chalicelib.domain.mime import _POLICY, AttachmentData, build_mime, header_fields

_LINESEP = "\r\n"
_MAX: int = _POLICY.max_line_length or 78
_PLAIN_VALUE = re.compile(r"[!-~]+(?: [!-~]+)*")
_NLCRE = re.compile(r"\r\n|\r|\n")
_URI_HEADERS = frozenset({"list-unsubscribe", "list-unsubscribe-post"})
# Headers the body part writes; a custom one of these takes the email package's path.
_MIME_HEADERS = frozenset({"content-type", "content-transfer-encoding", "mime-version", "content-disposition"})
_STRUCTURED = frozenset(
    name
    for name, cls in _POLICY.header_factory.registry.items()  # type: ignore[attr-defined]
    if "Unstructured" not in cls.__name__
)


@lru_cache(maxsize=8192)
def _folded(name: str, value: str) -> bytes:
    """The email package's own serialisation of one header."""
    _, header = _POLICY.header_store_parse(name, value)
    return _POLICY.fold_binary(name, header)


def header_bytes(name: str, value: str) -> bytes:
    if (
        name.lower() not in _STRUCTURED
        and len(name) + 2 + len(value) <= _MAX
        and "=?" not in value
        and _PLAIN_VALUE.fullmatch(value)
    ):
        return f"{name}: {value}{_LINESEP}".encode("ascii")
    return _folded(name, value)


def _encode_text(body: str) -> tuple[str, str]:
    """(Content-Transfer-Encoding, payload): the email package's choice for UTF-8 text."""
    lines = body.encode("utf-8").splitlines()
    if max((len(x) for x in lines), default=0) <= _MAX:
        try:
            return "7bit", (b"\n".join(lines) + b"\n").decode("ascii")
        except UnicodeDecodeError:
            pass
    embedded = _LINESEP.encode().join(lines[:10]) + _LINESEP.encode()
    sniff_qp = quoprimime.body_encode(embedded.decode("latin-1"), _MAX)
    if len(sniff_qp) > len(binascii.b2a_base64(embedded)):
        whole = _LINESEP.encode().join(lines) + _LINESEP.encode()
        encoded = binascii.b2a_base64(whole, newline=False).decode("ascii")
        chunk = _MAX // 4 * 3 // 3 * 4  # the email package's base64 line: 76 characters
        return "base64", "".join(encoded[i : i + chunk] + "\n" for i in range(0, len(encoded), chunk))
    if len(lines) <= 10:
        return "quoted-printable", sniff_qp
    return "quoted-printable", quoprimime.body_encode((b"\n".join(lines) + b"\n").decode("latin-1"), _MAX)


def _raw_folded(name: str, value: str) -> bytes | None:
    """A header of URIs written as it is, folded only at its spaces (RFC 2369 allows folding
    between the URIs); None when that cannot be done in printable ASCII."""
    if "=?" in value or not _PLAIN_VALUE.fullmatch(value):
        return None
    lines, current = [], f"{name}:"
    for word in value.split(" "):
        if len(current) + 1 + len(word) > _MAX and current != f"{name}:":
            lines.append(current)
            current = ""
        current += " " + word
    lines.append(current)
    if any(len(line) > 998 for line in lines):
        return None
    return (_LINESEP.join(lines) + _LINESEP).encode("ascii")


def _raw_headers(message: Mapping[str, Any]) -> tuple[Mapping[str, Any], bytes]:
    """The message without the headers providers read as URIs, and those headers' bytes.

    The email package writes a long List-Unsubscribe as RFC 2047 encoded-words, which no
    mail provider decodes: its one-click link would be lost."""
    custom = message.get("headers") or {}
    raw = {
        name: value
        for name, value in custom.items()
        if name.lower() in _URI_HEADERS and isinstance(value, str) and _raw_folded(name, value) is not None
    }
    if not raw:
        return message, b""
    rest = {name: value for name, value in custom.items() if name not in raw}
    return {**message, "headers": rest}, b"".join(_raw_folded(n, v) or b"" for n, v in raw.items())


def message_bytes(message: Mapping[str, Any], attachments: Sequence[AttachmentData], now: datetime) -> bytes:
    """What build_mime(...).as_bytes() returns, without building a message object when the
    message has no attachments and no custom MIME header; List-Unsubscribe headers first,
    written by _raw_folded on both paths."""
    message, raw = _raw_headers(message)
    return raw + _message_bytes(message, attachments, now)


def _message_bytes(message: Mapping[str, Any], attachments: Sequence[AttachmentData], now: datetime) -> bytes:
    fields = header_fields(message, now)
    if attachments or any(name.lower() in _MIME_HEADERS for name, _ in fields):
        return build_mime(message, attachments, now).as_bytes()
    ordered: dict[str, tuple[str, str]] = {}
    for name, value in fields:  # a custom header replaces one of the same name, at the end
        ordered.pop(name.lower(), None)
        ordered[name.lower()] = (name, value)
    subtype = "html" if message.get("content_type") == "html" else "plain"
    cte, payload = _encode_text(message.get("body") or "")
    head = b"".join(header_bytes(n, v) for n, v in ordered.values())
    head += (
        f'Content-Type: text/{subtype}; charset="utf-8"{_LINESEP}Content-Transfer-Encoding: {cte}'
        f"{_LINESEP}MIME-Version: 1.0{_LINESEP}{_LINESEP}"
    ).encode("ascii")
    return head + _NLCRE.sub(_LINESEP, payload).encode("ascii")
