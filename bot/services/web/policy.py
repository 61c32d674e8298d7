"""The URL policy: only public web addresses are fetched, checked at every step.

A listed URL or a redirect to a loopback, link-local, private or otherwise non-global
address, or one with a user name or password in it, is refused, unless its host is named
in ``sources.allowed_hosts``. The check is made on the URL of every hop (redirects are
followed one by one, bot/services/web/fetch.py), on every address a name resolves to (the
session's resolver drops the others, so no connection is ever opened to them) and on the
address actually connected to, before a request is sent on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import re
import socket
from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult


class UnsafeURLError(Exception):
    """A web address the bot refuses to fetch; str() is the one-line reason."""


def check_url(url: str, allowed_hosts: Collection[str] = ()) -> str:
    """Return the host of ``url`` if the bot may fetch it; raise UnsafeURLError if not.

    Refused: a scheme other than http(s), no host, a user name or password in the URL,
    and an IP address that is not global (loopback, link-local, private, shared,
    unspecified, multicast, reserved; IPv4 inside IPv6 too), unless the host is one of
    ``allowed_hosts``. A host name is checked here only by its form; the addresses it
    resolves to are checked by :func:`check_address` (at connection, and by
    :func:`check_url_resolves`).
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise UnsafeURLError(f"not a valid web address: {url!r}") from exc
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise UnsafeURLError(f"only http(s) addresses can be fetched, not {url!r}")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURLError("addresses with a user name or password are not fetched")
    host = host.rstrip(".").lower()
    if _allowed(host, allowed_hosts):
        return host
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        check_address(host, address, allowed_hosts)
        return host
    if re.fullmatch(r"[0-9.]+|0x[0-9a-f.x]+", host):
        # 2130706433, 127.1, 0x7f.1: numeric forms that a resolver maps onto an address.
        raise UnsafeURLError(f"{host} is not a public address")
    return host


# IPv6 addresses that carry an IPv4 address (besides ::ffff:0:0/96, IPv4-mapped).
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the well-known NAT64 prefix
_COMPATIBLE = ipaddress.IPv6Network("::/96")  # RFC 4291: IPv4-compatible (deprecated)
_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # RFC 2765: IPv4-translated
# Refused whatever they carry: Teredo hides its client's IPv4 address (XORed) behind a
# relay, and a local-use NAT64 prefix (RFC 8215) may embed it at any of six offsets.
_TEREDO = ipaddress.IPv6Network("2001::/32")  # RFC 4380
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """Return the IPv4 address that an IPv6 address reaches, or None if it is not one.

    IPv4-mapped ``::ffff:a.b.c.d``, IPv4-translated ``::ffff:0:a.b.c.d``, IPv4-compatible
    ``::a.b.c.d``, NAT64 ``64:ff9b::a.b.c.d`` and 6to4 ``2002:AABB:CCDD::``.
    """
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    low = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _NAT64 or ip in _TRANSLATED:
        return low
    if ip in _COMPATIBLE and not (ip.is_unspecified or ip.is_loopback):  # ::, ::1 are not
        return low
    return None


def check_address(
    host: str,
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | str,
    allowed_hosts: Collection[str] = (),
) -> None:
    """Raise UnsafeURLError when ``host`` (at ``address``) is not a public address.

    An IPv6 address that carries an IPv4 address (:func:`_embedded_ipv4`) is judged by
    that IPv4 address; Teredo and local-use NAT64 addresses are refused. A host in
    ``allowed_hosts`` passes whatever its address.
    """
    if _allowed(host, allowed_hosts):
        return
    try:
        ip = ipaddress.ip_address(str(address).split("%", 1)[0])
    except ValueError as exc:
        raise UnsafeURLError(f"{host} has no usable address ({address})") from exc
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _TEREDO or ip in _NAT64_LOCAL:
            shown = host if host == str(ip) else f"{host} ({ip})"
            raise UnsafeURLError(
                f"{shown} is a tunnel or local translation address; add the host to"
                " sources.allowed_hosts to allow it"
            )
        # An IPv6 form of an IPv4 address reaches that IPv4 address: judge that one.
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            ip = embedded
    if not ip.is_global or ip.is_multicast:
        kind = (
            "loopback"
            if ip.is_loopback
            else "link-local"
            if ip.is_link_local
            else "private"
            if ip.is_private
            else "non-public"
        )
        shown = host if host == str(ip) else f"{host} ({ip})"
        raise UnsafeURLError(
            f"{shown} is a {kind} address; add the host to sources.allowed_hosts to allow it"
        )


async def check_url_resolves(url: str, allowed_hosts: Collection[str] = ()) -> None:
    """Check ``url`` with :func:`check_url` and every address its host resolves to.

    Raises UnsafeURLError, also when the name does not resolve at all.
    """
    host = check_url(url, allowed_hosts)
    if _allowed(host, allowed_hosts):
        return
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(host)
        return  # an address, already checked
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UnsafeURLError(f"the host name {host} could not be resolved") from exc
    for *_, sockaddr in infos:
        check_address(host, sockaddr[0], allowed_hosts)


def _allowed(host: str, allowed_hosts: Collection[str]) -> bool:
    wanted = host.rstrip(".").lower().strip("[]")
    return any(wanted == str(h).rstrip(".").lower().strip("[]") for h in allowed_hosts)


class RefusedAddressError(OSError):
    """Raised by the resolver for a host whose every address is refused."""


class PublicOnlyResolver(AbstractResolver):
    """Resolves names as aiohttp does, keeping only the addresses the URL policy allows."""

    def __init__(self, allowed_hosts: Collection[str]) -> None:
        self._inner = aiohttp.ThreadedResolver()
        self._allowed_hosts = tuple(allowed_hosts)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Return the public addresses of ``host``; raise RefusedAddressError if none."""
        found = await self._inner.resolve(host, port, family)
        kept, reason = [], ""
        for entry in found:
            try:
                check_address(host.rstrip("."), entry["host"], self._allowed_hosts)
            except UnsafeURLError as exc:
                reason = reason or str(exc)
                continue
            kept.append(entry)
        if not kept:
            raise RefusedAddressError(reason or f"{host} has no address")
        return kept

    async def close(self) -> None:
        """Release the inner resolver."""
        await self._inner.close()


class PublicOnlyConnector(aiohttp.TCPConnector):
    """A connector that resolves with :class:`PublicOnlyResolver` and checks the peer.

    The address of every connection, new or reused, is checked before a request is sent
    on it: what counts is where the socket is connected, whatever the name said.
    """

    def __init__(self, allowed_hosts: Collection[str]) -> None:
        super().__init__(resolver=PublicOnlyResolver(allowed_hosts))
        self._allowed_hosts = tuple(allowed_hosts)

    async def connect(self, req: Any, traces: Any, timeout: Any) -> Any:
        """Return a connection for ``req`` once its peer address has passed the policy."""
        connection = await super().connect(req, traces, timeout)
        transport = connection.transport
        peer = transport.get_extra_info("peername") if transport is not None else None
        host = str(req.url.host or "").rstrip(".")
        try:
            if not peer:
                raise UnsafeURLError(f"the address of {host} is unknown")
            check_address(host, peer[0], self._allowed_hosts)
        except UnsafeURLError as exc:
            connection.close()
            raise aiohttp.ClientConnectorError(
                req.connection_key, RefusedAddressError(str(exc))
            ) from exc
        return connection
