"""Bounce recognition and classification (docs/api.md §5.11), on the stdlib email parser.

The email package already splits RFC 3464 reports: a ``message/delivery-status`` part
parses into one header block per recipient, and ``message/rfc822`` parts into messages,
so this module only applies API v1's rules to what it hands back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from typing import Any

from chalicelib.domain.mime import TRACKING_HEADER

_CODE = re.compile(r"\b([45]\d\d)\b")
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_ID_LINE = re.compile(rf"^{TRACKING_HEADER}:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)
_SUBJECT_HINTS = re.compile(
    r"(fail|undeliver|returned|bounce|delivery (status notification|failure)|failure notice)", re.IGNORECASE
)
_FROM_HINTS = ("mailer-daemon", "postmaster", "mail-daemon", "maildelivery")
MAX_REASON = 500


@dataclass(frozen=True)
class Bounce:
    mail_id: str | None
    recipient: str | None
    bounce_type: str
    bounce_code: str | None
    bounce_reason: str | None


def parse(raw: bytes) -> Bounce | None:
    """The bounce a mail reports, or None when it is not a bounce."""
    mail = message_from_bytes(raw, policy=policy.default)
    report = _delivery_status(mail)
    if report is not None:
        return _from_dsn(mail, report)
    if _looks_like_bounce(mail):
        return _from_text(mail)
    return None


def _delivery_status(mail: Message) -> Message | None:
    if mail.get_content_type() != "multipart/report":
        return None
    for part in mail.walk():
        if part.get_content_type() in ("message/delivery-status", "text/delivery-status"):
            return part
    return None


def _recipient_blocks(part: Message) -> list[Any]:
    """Per-recipient header blocks of a delivery-status part (the first is per-message)."""
    payload = part.get_payload()
    if isinstance(payload, list) and payload:
        return list(payload[1:]) or list(payload)
    # text/delivery-status is not split by the parser: split the blocks ourselves.
    text: Any = part.get_payload(decode=True) or b""
    blocks = re.split(rb"\r?\n\r?\n", text.strip())
    parsed = [message_from_bytes(b + b"\n", policy=policy.default) for b in blocks if b.strip()]
    return parsed[1:] or parsed


def _from_dsn(mail: Message, report: Message) -> Bounce:
    blocks = _recipient_blocks(report)
    failed = [b for b in blocks if (b.get("Action") or "").strip().lower() == "failed"]
    block = (failed or blocks or [Message()])[0]
    action = (block.get("Action") or "").strip().lower()
    status = _STATUS.search(str(block.get("Status") or ""))
    diagnostic = str(block.get("Diagnostic-Code") or "")
    diag_code = _CODE.search(diagnostic)
    code = "".join(status.groups()) if status else (diag_code.group(1) if diag_code else None)
    reason = diagnostic.split(";", 1)[1].strip() if ";" in diagnostic else diagnostic.strip()
    if action in ("delayed", "relayed", "expanded"):
        kind = "soft"
    elif status and status.group(1) in ("4", "5"):
        kind = "hard" if status.group(1) == "5" else "soft"
    elif diag_code:
        kind = "hard" if diag_code.group(1).startswith("5") else "soft"
    else:
        kind = "hard"
    recipient = str(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
    return Bounce(
        returned_id(mail), recipient.split(";", 1)[-1].strip() or None, kind, code, reason[:MAX_REASON] or None
    )


def _looks_like_bounce(mail: Message) -> bool:
    subject = str(mail.get("Subject") or "")
    sender = str(mail.get("From") or "").lower()
    return bool(_SUBJECT_HINTS.search(subject)) or any(h in sender for h in _FROM_HINTS)


def _text_body(mail: Message) -> str:
    for part in mail.walk():
        if part.get_content_type() == "text/plain" and not part.is_multipart():
            try:
                return str(part.get_content()) if isinstance(part, EmailMessage) else str(part.get_payload())
            except (LookupError, ValueError):
                raw: Any = part.get_payload(decode=True) or b""
                return str(raw.decode("utf-8", "replace"))
    return ""


def _from_text(mail: Message) -> Bounce:
    body = _text_body(mail)
    match = _CODE.search(body)
    code = match.group(1) if match else None
    kind = "soft" if code and code.startswith("4") else "hard"
    lines = [line.strip() for line in body.splitlines() if line.strip()]
    reason = " ".join(lines[:5])[:MAX_REASON] or None
    return Bounce(_any_id(mail), None, kind, code, reason)


def returned_id(mail: Message) -> str | None:
    """X-Genro-Mail-ID of the returned original (rfc822 or headers-only parts)."""
    for part in mail.walk():
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "message/rfc822-headers", "text/rfc822-headers"):
            found = _id_in_part(part)
            if found:
                return found
    return _any_id(mail)


def _id_in_part(part: Message) -> str | None:
    payload: Any = part.get_payload()
    if isinstance(payload, list):
        for inner in payload:
            if inner.get(TRACKING_HEADER):
                return str(inner[TRACKING_HEADER]).strip()
    raw: Any = part.get_payload(decode=True)
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(part.get_payload())
    match = _ID_LINE.search(text)
    return match.group(1) if match else None


def _any_id(mail: Message) -> str | None:
    for part in mail.walk():
        if part is not mail and part.get(TRACKING_HEADER):
            return str(part[TRACKING_HEADER]).strip()
        if part.get_content_type() in (
            "text/plain",
            "text/html",
            "message/rfc822",
            "message/rfc822-headers",
            "text/rfc822-headers",
        ):
            found = _id_in_part(part)
            if found:
                return found
    return None


def start_uid(stored_uid: int | None, stored_validity: int | None, validity: int | None) -> int:
    """The UID after which to read: a mailbox with a new UIDVALIDITY (recreated) numbers its
    mails afresh, so reading restarts at 0 (docs/api.md §5.11)."""
    if stored_validity is not None and stored_validity != validity:
        return 0
    return stored_uid or 0


# A change to any of these points the poll at another mailbox: its UIDs mean nothing there.
MAILBOX_FIELDS = ("bounce_imap_host", "bounce_imap_user", "bounce_imap_folder")


def mailbox_changed(current: Mapping[str, Any] | None, fields: Mapping[str, Any]) -> bool:
    """Whether an instance update moves the bounce poll to another mailbox (so the stored
    UID and UIDVALIDITY are reset)."""
    return current is not None and any(k in fields and fields[k] != current.get(k) for k in MAILBOX_FIELDS)
