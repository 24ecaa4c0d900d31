"""Small things several test modules need (imported as `from helpers import ...`)."""

from __future__ import annotations

import socket


def free_ports(n: int) -> list[int]:
    """`n` distinct loopback ports that were free a moment ago (held open together, so never equal)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()
