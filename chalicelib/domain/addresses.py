"""Address fields as API v1 reads them (docs/api.md §4.1), and the one check of an address
every field shares (to, cc, bcc, from, reply_to, return_path, suppressions, the unsubscribe
mailto, the bounce return path). Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.utils import getaddresses, parseaddr
from functools import lru_cache
from typing import Any

MAX_ADDRESS = 320  # RFC 5321: 64 + @ + 255
_LINE_BREAKS = frozenset("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def address_list(value: Any) -> list[str]:
    """A to/cc/bcc value (comma-separated string or list) as non-empty stripped items."""
    if value is None:
        return []
    items: Iterable[str] = value.split(",") if isinstance(value, str) else value
    return [item.strip() for item in items if isinstance(item, str) and item.strip()]


@lru_cache(maxsize=8192)
def address_problem(address: str) -> str | None:
    """Why one bare address (local@domain) cannot be sent, or None.

    email-validator checks the syntax (RFC 5321/5322, internationalised addresses too); no
    DNS look-up: the tenant's own server delivers. Its special-use domain names (.invalid,
    .test, localhost) are accepted: we never resolve a recipient's domain, and the sandbox's
    simulator addresses (success@simulator.mailproxy.invalid) are .invalid on purpose. Dotless domains and
    domain literals are valid syntax for a relay inside a network.
    """
    import email_validator  # a request with addresses needs it, not every cold start

    _special_use_is_the_servers_business()
    if len(address) > MAX_ADDRESS:
        return f"longer than {MAX_ADDRESS} characters"
    try:
        email_validator.validate_email(
            address,
            check_deliverability=False,
            globally_deliverable=False,
            allow_domain_literal=True,
            allow_quoted_local=False,
            allow_display_name=False,
            test_environment=True,
        )
    except email_validator.EmailNotValidError as exc:
        return str(exc)
    return None


def _special_use_is_the_servers_business() -> None:
    # The documented way to accept them (email-validator's README); done once, on first use.
    import email_validator

    email_validator.SPECIAL_USE_DOMAIN_NAMES[:] = []


def _skip(value: str) -> bool:
    """Empty and line-broken values are API v1's per-message rejections ("missing to",
    "invalid headers", docs/api.md §4.3), not a 422."""
    return not value.strip() or not _LINE_BREAKS.isdisjoint(value)


# A quoted display name may hold commas and angle brackets; blanked (same length) before
# the value's shape is read, so that positions still match the original.
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_SHAPE = "expected local@domain or Name <local@domain>"


def _blank_quotes(value: str) -> str:
    return _QUOTED.sub(lambda m: '"' + "x" * (len(m.group()) - 2) + '"', value)


def _one(item: str, blanked: str) -> str | None:
    """One ``local@domain`` or ``Name <local@domain>``, exactly: parseaddr alone would quietly
    repair ``user@exa mple.com`` or a stray ``>`` into an address the tenant never wrote."""
    found = parseaddr(item)[1]
    shape = blanked.strip()
    if not found:
        return f"no address found ({_SHAPE})"
    if shape != found and not (shape.endswith(f"<{found}>") and shape.count("<") == 1 and shape.count(">") == 1):
        return f"malformed ({_SHAPE})"
    return address_problem(found)


@lru_cache(maxsize=4096)  # a batch repeats its From (and often its To): parsed once
def mailbox_problem(value: str) -> str | None:
    """One address with an optional display name (``Name <local@domain>``), as ``from``,
    ``return_path`` and a suppression are read: the address part must be valid."""
    if _skip(value):
        return None
    return _one(value, _blank_quotes(value))


@lru_cache(maxsize=4096)  # a batch repeats its From (and often its To): parsed once
def single_address_problem(value: str) -> str | None:
    """One address where no v1 per-message reason applies (a suppression, the unsubscribe
    mailto, the bounce return path): empty, control characters and line breaks refused too."""
    if not value.strip():
        return "empty"
    if not _LINE_BREAKS.isdisjoint(value) or any(c < " " or c == "\x7f" for c in value):
        return "contains a line break or control character"
    return _one(value, _blank_quotes(value))


@lru_cache(maxsize=4096)  # a batch repeats its From (and often its To): parsed once
def mailbox_list_problem(value: str) -> str | None:
    """One item of a recipient field: one or more comma-separated addresses, each as
    ``mailbox_problem`` reads it, and the same ones the envelope will find (domain/mime.py)."""
    if _skip(value):
        return None
    blanked = _blank_quotes(value)
    count = 0
    start = 0
    for part in blanked.split(","):
        end = start + len(part)
        if part.strip():
            count += 1
            problem = _one(value[start:end], part)
            if problem:
                return problem
        start = end + 1
    if count != len([a for _, a in getaddresses([value]) if a]):
        return f"malformed ({_SHAPE})"
    return None
