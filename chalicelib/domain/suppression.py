"""Suppression rules (docs/api.md §7.1), pure: who is suppressed, and what is left
of an envelope once they are."""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.utils import parseaddr
from typing import Final

from chalicelib.domain.addresses import address_list
from chalicelib.domain.messages import LINE_BREAKS

HARD_BOUNCE: Final = "hard_bounce"
SMTP_REJECTED: Final = "smtp_rejected"
COMPLAINT: Final = "complaint"
UNSUBSCRIBE: Final = "unsubscribe"
MANUAL: Final = "manual"
REASONS: Final = (HARD_BOUNCE, SMTP_REJECTED, COMPLAINT, UNSUBSCRIBE, MANUAL)

ALL_SUPPRESSED: Final = "all recipients suppressed"
MAX_ADDRESS = 320           # RFC 5321: 64 + @ + 255
# Enhanced status 5.1.x: bad destination mailbox or system (RFC 3463).
_BAD_MAILBOX = re.compile(r"(?<![\d.])5\.1\.\d{1,3}(?![\d.])")


def normal(address: str) -> str:
    """The stored form: the address part, stripped, lower case."""
    return (parseaddr(address)[1] or address).strip().lower()


def valid(address: object) -> bool:
    """An address a suppression can hold: one local@domain, printable, no line break."""
    if not isinstance(address, str) or not address.strip() or len(address) > MAX_ADDRESS:
        return False
    if not LINE_BREAKS.isdisjoint(address) or any(c < " " or c == "\x7f" for c in address):
        return False
    found = normal(address)
    local, at, domain = found.rpartition("@")
    return bool(at and local and domain and " " not in found and "," not in found and "." in domain.strip("."))


def to_suppress(named: str | None, to: object) -> list[str]:
    """The stored forms of the address a report names, else of the message's ``to``."""
    found = [named] if named else address_list(to)
    return [normal(a) for a in found if valid(a)]


def bad_mailbox(reply: str) -> bool:
    """Does an SMTP refusal say the mailbox or domain does not exist (5.1.x)?"""
    return bool(_BAD_MAILBOX.search(reply))


def split(recipients: Iterable[str], suppressed: set[str]) -> tuple[list[str], list[str]]:
    """(recipients kept, recipients left out), each in envelope order."""
    kept: list[str] = []
    dropped: list[str] = []
    for address in recipients:
        (dropped if address.lower() in suppressed else kept).append(address)
    return kept, dropped
