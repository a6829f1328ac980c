"""Ports for local servers: outside the kernel's ephemeral range (where an outgoing connection could take one
between the check and the server's bind), free, and not handed out twice."""

from __future__ import annotations

import socket
from pathlib import Path

from lepton_stream.tooling.dev import ports


def test_the_pool_lies_outside_the_ephemeral_range(tmp_path: Path) -> None:
    f = tmp_path / "range"
    f.write_text("32768\t60999\n")
    assert ports.listen_pool(f) == range(61000, 65536)
    f.write_text("1024 65000\n")  # too few above, none below 1024
    assert ports.listen_pool(f) == range(0)
    f.write_text("40000 65000\n")  # too few above: below it, never under 1024
    assert ports.listen_pool(f) == range(40000 - 16384, 40000)
    assert ports.listen_pool(tmp_path / "missing") == range(0)


def test_free_ports_are_free_distinct_and_outside_the_ephemeral_range() -> None:
    pool = ports.listen_pool()
    got = [ports.free_port() for _ in range(200)]
    assert len(set(got)) == len(got)
    if pool:
        assert all(p in pool for p in got)
    for p in got[:20]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", p))  # raises if it were taken
