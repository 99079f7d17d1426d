"""Suppression rules (docs/api.md §7.1), pure: who is suppressed, and what is left
of an envelope once they are."""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.utils import parseaddr
from typing import Final

from chalicelib.domain.addresses import address_list, single_address_problem

HARD_BOUNCE: Final = "hard_bounce"
SMTP_REJECTED: Final = "smtp_rejected"
COMPLAINT: Final = "complaint"
UNSUBSCRIBE: Final = "unsubscribe"
MANUAL: Final = "manual"
REASONS: Final = (HARD_BOUNCE, SMTP_REJECTED, COMPLAINT, UNSUBSCRIBE, MANUAL)

ALL_SUPPRESSED: Final = "all recipients suppressed"
# Enhanced status 5.1.x: bad destination mailbox or system (RFC 3463).
_BAD_MAILBOX = re.compile(r"(?<![\d.])5\.1\.\d{1,3}(?![\d.])")


def normal(address: str) -> str:
    """The stored form: the address part, stripped, lower case."""
    return (parseaddr(address)[1] or address).strip().lower()


def valid(address: object) -> bool:
    """An address a suppression can hold: the one address check (domain/addresses.py)."""
    return isinstance(address, str) and single_address_problem(address) is None


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
