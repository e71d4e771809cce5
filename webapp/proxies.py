"""The reverse proxy's headers believed from the proxy only (ZYZ_PROXY_ADDRESSES): ProxyFix is applied to a request
whose direct peer is one of the proxy's addresses, and the client-certificate headers are read from such a request
only (webapp.auth.current.client_certificate)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING

from werkzeug.middleware.proxy_fix import ProxyFix

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

PEER = "zyz.peer"  # environ: REMOTE_ADDR as the WSGI server gave it, before any proxy's headers were applied


def is_proxy(peer: str, networks: Iterable[Network]) -> bool:
    """Whether the address `peer` is in one of `networks` (an IPv4 address mapped into IPv6, as a dual-stack socket
    reports it, as itself). A peer that is no IP address (a Unix socket's) is not."""
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


class TrustedProxyFix:
    """ProxyFix (X-Forwarded-For and -Proto, `hops` proxies) for the requests of a peer in `networks`; a request of
    any other peer reaches the application with its own address and scheme, its X-Forwarded-* ignored. Either way
    the peer is kept in environ[PEER]."""

    def __init__(self, app: WSGIApplication, networks: tuple[Network, ...], hops: int):
        self.app = app
        self.fixed = ProxyFix(app, x_for=hops, x_proto=hops)
        self.networks = networks

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        peer = environ[PEER] = environ.get("REMOTE_ADDR") or ""
        handler = self.fixed if is_proxy(peer, self.networks) else self.app
        return handler(environ, start_response)
