"""Which network addresses the fetcher may talk to (SSRF guard).

Why at the resolver: a URL's host is checked on the addresses it actually resolves to, at
connect time, so a DNS name that points at 127.0.0.1 or 169.254.169.254 (cloud metadata) is
refused as surely as the literal. Private, loopback, link-local and other non-global
addresses are refused unless a configured network allows them (tests allow 127.0.0.0/8).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class UnsafeTargetError(OSError):
    """Raised from the resolver; an OSError so aiohttp passes it through as a connector error."""


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    allow: tuple[IPNetwork, ...] = ()

    @classmethod
    def of(cls, networks: Iterable[str] | str | None) -> AddressPolicy:
        if isinstance(networks, str):
            networks = [n for n in networks.replace(";", ",").split(",")]
        parsed = tuple(ipaddress.ip_network(n.strip(), strict=False) for n in networks or () if n.strip())
        return cls(parsed)

    def permits(self, address: str | IPAddress) -> bool:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if any(ip in net for net in self.allow):
            return True
        return ip.is_global and not ip.is_multicast

    def check_host(self, host: str) -> None:
        """Refuse an IP-literal host now (aiohttp skips the resolver for literals)."""
        try:
            ip = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return
        if not self.permits(ip):
            raise UnsafeTargetError(f"{host} is a private, loopback or link-local address")


class GuardedResolver(AbstractResolver):
    """Resolves like aiohttp's threaded resolver, then drops every address the policy refuses."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy
        self._inner = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        allowed = [r for r in results if self.policy.permits(r["host"])]
        if not allowed:
            addresses = ", ".join(sorted({r["host"] for r in results}))
            raise UnsafeTargetError(f"{host} resolves only to refused addresses ({addresses})")
        return allowed

    async def close(self) -> None:
        await self._inner.close()
