"""Apache Kafka on loopback for development and tests: KRaft combined mode, one node or a cluster of N.

The broker's jars come from Maven Central (org.apache.kafka:kafka_2.13 at a pinned version and its runtime
dependencies), resolved once by `mvn` into a cache folder and reused; KAFKA_HOME points at an installed Kafka
distribution instead. Each node is broker and controller at once (`process.roles=broker,controller`), with a
static quorum of all nodes, storage formatted by Kafka's own StorageTool, and settings for a fast start on
loopback (no initial rebalance delay, few offsets partitions, session timeouts down to 1 s).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from lepton_stream.tooling.cache import cache_root
from lepton_stream.tooling.dev.broker import BrokerError, pid_alive, port_open, stop_pid
from lepton_stream.tooling.dev.ports import free_port

KAFKA_VERSION = "4.1.2"
SCALA_VERSION = "2.13"
# kafka_2.13 logs through SLF4J 1.7 and brings log4j-core without the binding between them; this is the
# binding for the log4j version it resolves (without it every broker log line is dropped).
LOG4J_VERSION = "2.25.3"

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>lepton-stream</groupId><artifactId>kafka-libs</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_{scala}</artifactId><version>{kafka}</version>
    </dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId>
      <version>{log4j}</version></dependency>
  </dependencies>
</project>
"""

_LOG4J = """status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = OUT
# The start and stop lines, and leadership changes: enough to follow a chaos run in the log.
logger.raft.name = kafka.server.KafkaRaftServer
logger.raft.level = INFO
logger.broker.name = kafka.server.BrokerServer
logger.broker.level = INFO
logger.ctl.name = org.apache.kafka.controller.QuorumController
logger.ctl.level = INFO
"""


def kafka_libs(version: str = KAFKA_VERSION) -> Path:
    """The folder of jars to run: $KAFKA_HOME/libs, else the Maven-resolved cache (resolved on first use)."""
    if home := os.environ.get("KAFKA_HOME"):
        libs = Path(home) / "libs"
        if not any(libs.glob("kafka_*.jar")):
            raise BrokerError(f"KAFKA_HOME={home}: no kafka_*.jar under {libs}")
        return libs
    root = cache_root() / f"kafka-{version}"
    libs = root / "libs"
    if (root / ".complete").is_file():
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerError("Apache Kafka's jars are resolved with Maven: install `mvn` (or set KAFKA_HOME)")
    root.mkdir(parents=True, exist_ok=True)
    # One resolver at a time (a test session and `dev up` may start together); the second finds it done.
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (root / ".complete").is_file():
            return libs
        with tempfile.TemporaryDirectory(dir=root) as tmp:
            pom = Path(tmp) / "pom.xml"
            pom.write_text(_POM.format(scala=SCALA_VERSION, kafka=version, log4j=LOG4J_VERSION))
            out = Path(tmp) / "libs"
            cmd = [mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies", "-DincludeScope=runtime",
                   f"-DoutputDirectory={out}"]  # fmt: skip
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0 or not any(out.glob("kafka_*.jar")):
                tail = (done.stdout + done.stderr)[-2000:]
                raise BrokerError(f"mvn could not resolve Apache Kafka {version}:\n{tail}")
            if libs.exists():
                shutil.rmtree(libs)
            out.rename(libs)
        (root / ".complete").write_text(version + "\n")
    return libs


def java_binary() -> str:
    if home := os.environ.get("JAVA_HOME"):
        return str(Path(home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise BrokerError("Apache Kafka needs Java 17 or later on PATH (or JAVA_HOME)")
    return java


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes in URL-safe base64 without padding, never starting with "-" (as
    `kafka-storage random-uuid`: the storage tool's argument parser reads "-t -abc..." as a missing id)."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cid.startswith("-"):
            return cid


@dataclass
class KafkaNode:
    node_id: int
    port: int
    controller_port: int
    workdir: Path
    pid: int | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"


@dataclass
class ApacheKafka:
    """Apache Kafka on 127.0.0.1: `brokers` KRaft nodes, each broker and controller, the first on `port`.

    Same shape as Tansu (start/stop/bootstrap/pid), plus kill/restart of one node for chaos runs. Storage lives
    under workdir (formatted once; a restart keeps it)."""

    port: int
    workdir: Path
    brokers: int = 1
    heap: str = "512m"
    version: str = KAFKA_VERSION
    nodes: list[KafkaNode] = field(default_factory=list)
    cluster_id: str | None = None

    def __post_init__(self) -> None:
        self.workdir = Path(self.workdir).resolve()
        if not self.nodes:
            ports = [self.port] + [free_port() for _ in range(self.brokers - 1)]
            self.nodes = [KafkaNode(i + 1, p, free_port(), self.workdir / f"node-{i + 1}") for i, p in enumerate(ports)]

    @classmethod
    def on_fixed_ports(cls, port: int, workdir: Path, brokers: int = 1, **kw: object) -> ApacheKafka:
        """Node i (from 0) on port + 2i, its controller on port + 2i + 1 (9092/9093, 9094/9095, ...), so that
        a restart of `dev up` finds the same addresses its storage was formatted with."""
        workdir = Path(workdir).resolve()
        nodes = [KafkaNode(i + 1, port + 2 * i, port + 2 * i + 1, workdir / f"node-{i + 1}") for i in range(brokers)]
        return cls(port=port, workdir=workdir, brokers=brokers, nodes=nodes, **kw)  # type: ignore[arg-type]

    @property
    def bootstrap(self) -> str:
        return ",".join(n.bootstrap for n in self.nodes)

    @property
    def pid(self) -> int | None:
        return self.nodes[0].pid

    @property
    def pids(self) -> list[int | None]:
        return [n.pid for n in self.nodes]

    def _properties(self, node: KafkaNode) -> str:
        n = len(self.nodes)
        voters = ",".join(f"{m.node_id}@127.0.0.1:{m.controller_port}" for m in self.nodes)
        replicas, min_isr = min(3, n), min(2, n)
        props = {
            "process.roles": "broker,controller",
            "node.id": node.node_id,
            "controller.quorum.voters": voters,
            "listeners": f"PLAINTEXT://127.0.0.1:{node.port},CONTROLLER://127.0.0.1:{node.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(node.workdir / "data"),
            # Internal topics and topics created without a replication factor follow the cluster's size.
            "offsets.topic.replication.factor": replicas,
            "transaction.state.log.replication.factor": replicas,
            "transaction.state.log.min.isr": min_isr,
            "share.coordinator.state.topic.replication.factor": replicas,
            "share.coordinator.state.topic.min.isr": min_isr,
            "default.replication.factor": replicas,
            "min.insync.replicas": min_isr,
            # Fast on loopback: the first group does not wait 3 s for more members, the offsets topic has
            # 8 partitions rather than 50 to create and load, and the tests' 4 s session timeouts are allowed.
            "group.initial.rebalance.delay.ms": 0,
            "offsets.topic.num.partitions": 8,
            "group.min.session.timeout.ms": 1000,
            # A SIGKILLed node is fenced, and its partitions' leadership moved, after 3 s instead of 9 s.
            "broker.heartbeat.interval.ms": 500,
            "broker.session.timeout.ms": 3000,
            # Few threads: a development machine's cores are for the workers.
            "num.network.threads": 2,
            "num.io.threads": 2,
            "background.threads": 2,
            "log.cleaner.threads": 1,
            "num.recovery.threads.per.data.dir": 1,
        }
        return "".join(f"{k}={v}\n" for k, v in props.items())

    def _java(self, libs: Path, node: KafkaNode, heap: str | None = None) -> list[str]:
        heap = heap or os.environ.get("LEPTON_KAFKA_HEAP", self.heap)
        return [
            java_binary(), f"-Xms{heap}", f"-Xmx{heap}", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={node.workdir / 'log4j2.properties'}",
            "-cp", f"{libs}/*",
        ]  # fmt: skip

    def _format(self, libs: Path, node: KafkaNode) -> tuple[KafkaNode, subprocess.Popen[str]] | None:
        """Write the node's configuration; start formatting its storage unless an earlier start did."""
        node.workdir.mkdir(parents=True, exist_ok=True)
        (node.workdir / "server.properties").write_text(self._properties(node))
        (node.workdir / "log4j2.properties").write_text(_LOG4J)
        if (node.workdir / "data" / "meta.properties").is_file():
            return None  # keep the data
        assert self.cluster_id is not None
        cmd = [*self._java(libs, node, heap="256m"), "kafka.tools.StorageTool", "format",
               f"--cluster-id={self.cluster_id}", "-c", str(node.workdir / "server.properties")]  # fmt: skip
        return node, subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def _launch(self, libs: Path, node: KafkaNode) -> None:
        if port_open("127.0.0.1", node.port) or port_open("127.0.0.1", node.controller_port):
            raise BrokerError(f"port {node.port} or {node.controller_port} is taken: cannot start Kafka node")
        log = open(node.workdir / "server.log", "ab")  # noqa: SIM115 - the child keeps it
        # Its own session, so `dev down` from another shell can stop it and Ctrl-C here does not.
        proc = subprocess.Popen(
            [*self._java(libs, node), "kafka.Kafka", str(node.workdir / "server.properties")],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        log.close()
        node.pid = proc.pid

    def start(self, timeout_s: float = 90.0) -> float:
        """Format (first time) and start every node; returns seconds until all brokers answer, unfenced."""
        libs = kafka_libs(self.version)
        meta = self.workdir / "cluster_id"
        if self.cluster_id is None:
            self.cluster_id = meta.read_text().strip() if meta.is_file() else new_cluster_id()
        self.workdir.mkdir(parents=True, exist_ok=True)
        meta.write_text(self.cluster_id + "\n")
        formats = [f for f in (self._format(libs, node) for node in self.nodes) if f is not None]
        for node, proc in formats:  # formatted in parallel: a JVM start each
            out, _ = proc.communicate()
            if proc.returncode != 0:
                raise BrokerError(f"formatting KRaft storage of node {node.node_id} failed:\n{out}")
        started = time.monotonic()
        for node in self.nodes:
            self._launch(libs, node)
        try:
            self.wait_ready(timeout_s)
        except BrokerError:
            self.stop()
            raise
        return time.monotonic() - started

    def wait_ready(self, timeout_s: float = 90.0, expect: int | None = None, via: KafkaNode | None = None) -> None:
        """Until `expect` brokers (default: every node) are registered and unfenced, as a client sees it; `via`
        asks that node alone (a restarted node answers once it serves requests, while the others may still list
        its previous registration as unfenced)."""
        from kafka import KafkaAdminClient

        expect = len(self.nodes) if expect is None else expect
        deadline = time.monotonic() + timeout_s
        last: object = None
        while time.monotonic() < deadline:
            for node in self.nodes:
                if node.pid is not None and not pid_alive(node.pid):
                    raise BrokerError(f"Kafka node {node.node_id} exited; see {node.workdir / 'server.log'}")
            live = [n for n in ([via] if via else self.nodes) if n.pid is not None and port_open("127.0.0.1", n.port)]
            if live:
                try:
                    admin = KafkaAdminClient(bootstrap_servers=[n.bootstrap for n in live], request_timeout_ms=3000)
                    try:
                        brokers = admin.describe_cluster()["brokers"]
                    finally:
                        admin.close()
                    up = [b for b in brokers if not b.get("is_fenced")]
                    if len(up) >= expect:
                        return
                    last = f"{len(up)} of {expect} brokers unfenced"
                except Exception as exc:  # noqa: BLE001 - any client error means "not ready yet"
                    last = exc
            time.sleep(0.2)
        raise BrokerError(f"Kafka at {self.bootstrap} not ready within {timeout_s}s: {last}")

    def kill(self, index: int, sig: int = signal.SIGKILL) -> None:
        """Send one node a signal and reap it (SIGKILL: a crash; SIGTERM: a controlled shutdown)."""
        node = self.nodes[index]
        if node.pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(node.pid, sig)
        stop_pid(node.pid, timeout_s=60.0)  # waits for it to exit; escalates to SIGKILL only past a minute
        node.pid = None

    def restart(self, index: int, sig: int = signal.SIGKILL, timeout_s: float = 90.0) -> float:
        """Kill one node and start it again on the same ports and storage; seconds until it serves requests and
        sees every node unfenced."""
        self.kill(index, sig)
        libs = kafka_libs(self.version)
        started = time.monotonic()
        # The old process's listening sockets may linger a moment after it is reaped.
        node = self.nodes[index]
        while port_open("127.0.0.1", node.port) and time.monotonic() - started < 10:
            time.sleep(0.1)
        self._launch(libs, node)
        self.wait_ready(timeout_s, via=node)
        return time.monotonic() - started

    def leaders(self, topic: str) -> dict[int, int]:
        """Partition -> node id of its current leader (-1 while it has none), as the cluster reports it."""
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap.split(","), request_timeout_ms=10_000)
        try:
            [desc] = admin.describe_topics([topic])
            # kafka-python 3 names the fields as the protocol does (partition_index, leader_id)
            return {p["partition_index"]: p["leader_id"] for p in desc["partitions"]}
        finally:
            admin.close()

    def stop(self, timeout_s: float = 30.0) -> None:
        stop_nodes([n.pid for n in self.nodes if n.pid is not None], timeout_s)
        for node in self.nodes:
            node.pid = None


def stop_nodes(pids: list[int], timeout_s: float = 30.0) -> None:
    """SIGTERM to every node at once, then wait for each (SIGKILL past the timeout). One at a time, the last
    ones would wait for a controller quorum that the first ones took away."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    for pid in pids:
        stop_pid(pid, timeout_s)
