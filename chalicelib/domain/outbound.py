"""Where a tenant's data may make us connect (pure): public addresses, plus what the
operator allows (``MAILPROXY_OUTBOUND_ALLOW``: CIDRs and ``host:port`` entries).

Every connection a tenant's data directs (attachment downloads, endpoint attachments,
delivery reports, SMTP accounts) is checked on the address it resolves to, before
connecting, and again at every redirect: a tenant must not reach the service's own
network (the AWS endpoint, the metadata service, the database, internal HTTP services).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Names nothing of what is there; says how an operator allows it.
REFUSED = "destination not allowed: a non-public address the operator has not listed in MAILPROXY_OUTBOUND_ALLOW"


def _address(ip: str) -> IPAddress:
    address = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_public(ip: str) -> bool:
    address = _address(ip)
    return address.is_global and not address.is_multicast


@dataclass(frozen=True)
class OutboundPolicy:
    networks: tuple[IPNetwork, ...] = ()
    endpoints: frozenset[tuple[str, int]] = frozenset()

    def allows(self, host: str, ip: str, port: int) -> bool:
        """May we connect to ``ip`` (which ``host`` resolved to) on ``port``?"""
        address = _address(ip)
        if (host.lower().strip("[]"), port) in self.endpoints or (str(address), port) in self.endpoints:
            return True
        if any(address in network for network in self.networks):
            return True
        return is_public(ip)


def save_warning(policy: OutboundPolicy, host: str, port: int) -> str | None:
    """What to tell whoever saves an SMTP account that the policy will refuse at send time.
    Only literal addresses (and localhost) are judged here: a name is resolved when used."""
    literal = "127.0.0.1" if host.lower() == "localhost" else host.strip("[]")
    try:
        ipaddress.ip_address(literal)
    except ValueError:
        return None
    if policy.allows(host, literal, port):
        return None
    return (
        f"{host} is not a public address and MAILPROXY_OUTBOUND_ALLOW does not list it: sending "
        f"through this account will be refused until the operator adds {host} (or {host}:{port}) there"
    )


def parse_allow(raw: str) -> OutboundPolicy:
    """``127.0.0.0/8, 10.1.2.3, smtp.internal:25, [fd00::1]:587``; ValueError names a bad entry."""
    networks: list[IPNetwork] = []
    endpoints: set[tuple[str, int]] = set()
    for entry in (e.strip() for e in raw.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
            continue
        except ValueError:
            pass
        host, sep, port = entry.rpartition(":")
        if (
            not sep
            or not port.isdigit()
            or not 0 < int(port) < 65536
            or not host
            or (":" in host and not host.startswith("["))
        ):
            raise ValueError(f"not a CIDR, an address or host:port: {entry!r}")
        endpoints.add((host.lower().strip("[]"), int(port)))
    return OutboundPolicy(tuple(networks), frozenset(endpoints))
