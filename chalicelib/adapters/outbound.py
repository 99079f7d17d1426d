"""Connections a tenant's data directs, held to the outbound policy (domain/outbound.py).

The host is resolved here and every address checked before any packet is sent to it; the
connection goes to the checked address (so a second resolution cannot swap in another),
while TLS still verifies the host name. Used by the HTTP adapter (through urllib3's
connection hook, so redirects are checked too) and by the SMTP adapter.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from chalicelib.domain.outbound import REFUSED, OutboundPolicy
from chalicelib.errors import DestinationRefused


def _allowed(policy: OutboundPolicy, host: str, port: int, infos: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    allowed = [info for info in infos if policy.allows(host, str(info[4][0]), port)]
    if not allowed:
        raise DestinationRefused(REFUSED)
    return allowed


def connect(
    policy: OutboundPolicy,
    host: str,
    port: int,
    timeout: float | None,
    source_address: tuple[str, int] | None = None,
    socket_options: list[tuple[int, int, Any]] | None = None,
) -> socket.socket:
    """A connected blocking socket to an allowed address of ``host``."""
    infos = _allowed(policy, host, port, socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
    last: OSError | None = None
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        try:
            for option in socket_options or []:
                sock.setsockopt(*option)
            if timeout is not None:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(address)
            return sock
        except OSError as exc:
            last = exc
            sock.close()
    assert last is not None
    raise last


async def connect_async(policy: OutboundPolicy, host: str, port: int, timeout: float) -> socket.socket:
    """A connected non-blocking socket to an allowed address of ``host`` (for asyncio)."""
    loop = asyncio.get_running_loop()
    infos = _allowed(policy, host, port, await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM))
    last: OSError | None = None
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        sock.setblocking(False)
        try:
            await asyncio.wait_for(loop.sock_connect(sock, address), timeout)
            return sock
        except (OSError, TimeoutError) as exc:
            last = exc if isinstance(exc, OSError) else TimeoutError("timed out")
            sock.close()
    assert last is not None
    raise last
