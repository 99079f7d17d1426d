"""Suppression at dispatch (docs/api.md §7.1): which recipients a run may send to,
and the addresses SMTP servers say do not exist (5.1.x), suppressed for next time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from chalicelib.domain import suppression
from chalicelib.domain.mime import envelope
from chalicelib.domain.rows import MessageRow, TenantRow
from chalicelib.errors import InfrastructureError
from chalicelib.services.ports import Ports

log = logging.getLogger(__name__)


class RunSuppressions:
    """A run's view of its tenant's suppression list: looked up once per claimed batch."""

    def __init__(self, ports: Ports, tenant: TenantRow) -> None:
        self.ports = ports
        self.tenant_id = tenant["id"]
        self.enabled = bool(tenant.get("suppression_enabled", True))
        self.suppressed: set[str] = set()

    async def load(self, messages: Iterable[MessageRow]) -> None:
        """Every recipient of the batch, in one query."""
        if not self.enabled:
            return
        addresses = sorted({a.lower() for m in messages for a in envelope(m["payload"], None).recipients})
        if addresses:
            self.suppressed |= await asyncio.to_thread(self.ports.suppressions.matching, self.tenant_id, addresses)

    def split(self, recipients: list[str]) -> tuple[list[str], list[str]]:
        """(recipients to send to, recipients left out)."""
        return suppression.split(recipients, self.suppressed) if self.suppressed else (recipients, [])

    async def refused(self, message: MessageRow, refused: dict[str, str] | None) -> None:
        """Suppress the recipients an SMTP server refused as unknown (enhanced status 5.1.x)."""
        bad = {suppression.normal(a): reply for a, reply in (refused or {}).items() if suppression.bad_mailbox(reply)}
        if not bad or not self.enabled:
            return
        try:
            for address, reply in bad.items():
                await asyncio.to_thread(
                    self.ports.suppressions.add,
                    self.tenant_id,
                    [address],
                    suppression.SMTP_REJECTED,
                    self.ports.now(),
                    message["id"],
                    reply[:500],
                )
        except InfrastructureError as exc:
            log.warning("refused recipients not suppressed (%s); the next refusal suppresses them", type(exc).__name__)
        self.suppressed |= set(bad)
