"""Free TCP ports for the servers the dev stack, the tests and the benchmarks start on 127.0.0.1.

A port from bind(0) lies in the kernel's ephemeral range, so between that check and the server's own bind an
outgoing connection may take it: one Kafka node dialling another took a third node's controller port that way
("Address already in use"). Ports are therefore chosen above (or else below) the ephemeral range, where no
outgoing connection lands, and never handed out twice by one process while others remain.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_MIN_POOL = 1000  # fewer ports outside the ephemeral range than this: fall back to bind(0)
_random = random.SystemRandom()  # not the module's generator: tests seed that one
_given: set[int] = set()


def listen_pool(range_file: Path = _RANGE_FILE) -> range:
    """Ports outside the ephemeral range (empty where the range is unknown or leaves too few)."""
    try:
        lo, hi = (int(x) for x in range_file.read_text().split())
    except (OSError, ValueError):
        return range(0)
    above, below = range(hi + 1, 65536), range(max(1024, lo - 16384), lo)
    return above if len(above) >= _MIN_POOL else below if len(below) >= _MIN_POOL else range(0)


def bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    pool = listen_pool()
    if len(_given) > len(pool) // 2:
        _given.clear()  # a long run has used half the pool: the oldest servers are long gone
    for _ in range(500):
        if not pool:
            break
        port = _random.choice(pool)
        if port not in _given and bindable(port):
            _given.add(port)
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
