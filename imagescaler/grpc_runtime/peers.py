"""Who is calling: the client's address from gRPC's peer string."""

from __future__ import annotations

from urllib.parse import unquote


def peer_address(peer: str) -> str:
    """The client's address from gRPC's peer string (`ipv4:127.0.0.1:5555`,
    `ipv6:[::1]:5555`, which gRPC Python percent-encodes: `ipv6:%5B::1%5D:5555`), without its
    port."""
    kind, _, rest = unquote(peer).partition(":")
    if kind == "ipv6":
        return rest.rpartition("]")[0].lstrip("[") or rest
    if kind == "ipv4":
        return rest.rpartition(":")[0] or rest
    return peer
