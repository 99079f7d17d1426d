"""Complaints (docs/api.md §7.2): feedback reports in the ARF format (RFC 5965) that
mailbox providers send when a recipient marks a message as spam. Pure: bytes in, facts out."""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message
from typing import Any

from chalicelib.domain.bounces import returned_id


@dataclass(frozen=True)
class Complaint:
    mail_id: str | None
    recipient: str | None  # Original-Rcpt-To, when the provider says
    feedback_type: str | None  # abuse, fraud, virus, other, not-spam...
    user_agent: str | None


def _fields(part: Message) -> Message:
    """The report's fields: the parser hands a message/* part over as one inner message."""
    payload: Any = part.get_payload()
    if isinstance(payload, list) and payload:
        return payload[0]  # type: ignore[no-any-return]
    raw: Any = part.get_payload(decode=True)
    return message_from_bytes(raw if isinstance(raw, bytes) else str(payload).encode(), policy=policy.default)


def _text(fields: Message, name: str) -> str | None:
    value = fields.get(name)
    return str(value).strip()[:200] or None if value is not None else None


def parse_complaint(raw: bytes) -> Complaint | None:
    """The complaint a mail reports, or None when it is not a feedback report."""
    mail = message_from_bytes(raw, policy=policy.default)
    if mail.get_content_type() != "multipart/report":
        return None
    if str(mail.get_param("report-type") or "").lower() != "feedback-report":
        return None
    report = next((p for p in mail.walk() if p.get_content_type() == "message/feedback-report"), None)
    if report is None:
        return None
    fields = _fields(report)
    recipient = _text(fields, "Original-Rcpt-To")
    return Complaint(
        returned_id(mail),
        recipient,
        (_text(fields, "Feedback-Type") or "").lower() or None,
        _text(fields, "User-Agent"),
    )
