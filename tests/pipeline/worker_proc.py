"""Helpers for tests that run real worker processes (`python -m lepton_stream run news`) against the broker.

- `spawn(settings, log)`: a worker subprocess configured only through LEPTON_* variables;
- `Watcher`: a plain consumer assigned to output topics that keeps reading while workers run;
- `committed(...)`: the consumer group's committed offsets (read without joining the group);
- `input_positions(...)`: every input record's (partition, offset) and what it should become.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from kafka import KafkaConsumer, TopicPartition

from lepton_stream.config import Settings
from lepton_stream.kafka.backend import client_kwargs, ensure_topics, make_producer
from lepton_stream.tooling.bench.workers import worker_env
from lepton_stream.tooling.replay.synth import Record

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class WorkerProcess:
    proc: subprocess.Popen
    log_path: Path
    log_file: IO[bytes]

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.log_file.flush()

    def stop(self) -> None:
        """Make sure it is gone (test teardown): SIGKILL if still running."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self.log_file.close()

    def log_events(self) -> list[dict[str, Any]]:
        events = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    events.append(json.loads(line))
        return events

    def log_tail(self, n: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-n:]


def spawn(s: Settings, log_path: Path, kind: str = "news", idle_exit: float | None = None) -> WorkerProcess:
    cmd = [sys.executable, "-m", "lepton_stream", "run", kind]
    if idle_exit is not None:
        cmd += ["--idle-exit", str(idle_exit)]
    log = log_path.open("ab")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=worker_env(s), stdout=log, stderr=subprocess.STDOUT)
    return WorkerProcess(proc, log_path, log)


def produce_all(s: Settings, topic: str, records: list[Record], partitions: int = 4) -> None:
    ensure_topics(s, {topic: partitions})
    producer = make_producer(s)
    futures = [producer.send(topic, key=r.key, value=r.value) for r in records]
    producer.flush()
    producer.close()
    assert not [f for f in futures if f.failed()], "every input record reached the broker"


@dataclass
class Watcher:
    """Reads topics from the beginning, continuously; `records[topic]` holds everything read so far."""

    s: Settings
    topics: dict[str, int]  # topic -> partition count
    records: dict[str, list] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ensure_topics(self.s, self.topics)
        self.consumer = KafkaConsumer(**client_kwargs(self.s), enable_auto_commit=False)
        tps = [TopicPartition(t, p) for t, n in self.topics.items() for p in range(n)]
        self.consumer.assign(tps)
        self.consumer.seek_to_beginning(*tps)
        self.records = {t: [] for t in self.topics}

    def poll(self, timeout_ms: int = 300) -> int:
        got = self.consumer.poll(timeout_ms=timeout_ms)
        for tp, recs in got.items():
            self.records[tp.topic].extend(recs)
        return sum(len(v) for v in got.values())

    def until(self, done: Callable[[], bool], timeout_s: float, alive: Callable[[], bool] = lambda: True) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.poll()
            if done():
                return True
            if not alive():
                self.poll()
                return done()
        return False

    def settle(self, quiet_s: float = 2.0, timeout_s: float = 30.0) -> None:
        """Read until nothing new arrived for quiet_s."""
        deadline = time.monotonic() + timeout_s
        last = time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - last < quiet_s:
            if self.poll():
                last = time.monotonic()

    def values(self, topic: str) -> list[dict]:
        return [json.loads(r.value) for r in self.records[topic]]

    def close(self) -> None:
        self.consumer.close()


def committed(s: Settings, group: str, topic: str, partitions: int = 4) -> dict[int, int]:
    """Committed offset per partition (0 where nothing is committed); reading does not join the group."""
    c = KafkaConsumer(**client_kwargs(s), group_id=group, enable_auto_commit=False)
    try:
        return {p: c.committed(TopicPartition(topic, p)) or 0 for p in range(partitions)}
    finally:
        c.close()


@dataclass(frozen=True)
class Position:
    partition: int
    offset: int
    id: str | None  # the message id of a valid record, None for a malformed one
    value: bytes


def input_positions(s: Settings, topic: str, records: list[Record], partitions: int = 4,
                    timeout_s: float = 60) -> list[Position]:  # fmt: skip
    """Every record of the input topic with its (partition, offset), read back from the broker; `id` is the
    generator's id for a valid record (None for a malformed one, whatever id-like field it carries)."""
    valid = {r.value: r.id for r in records if r.id}
    w = Watcher(s, {topic: partitions})
    try:
        w.until(lambda: len(w.records[topic]) >= len(records), timeout_s)
        return [Position(r.partition, r.offset, valid.get(r.value), r.value) for r in w.records[topic]]
    finally:
        w.close()


# ---------------------------------------------------------------- checks on a news worker's outputs


def outputs_watcher(s: Settings) -> Watcher:
    return Watcher(s, {s.topic_news_enriched: 4, s.dlq_topic(s.topic_news_raw): 1, s.topic_alerts: 4})


def enriched_ids(w: Watcher, s: Settings) -> set[str]:
    return {json.loads(r.value)["id"] for r in w.records[s.topic_news_enriched]}


def dlq_positions(w: Watcher, s: Settings) -> set[tuple[int, int]]:
    return {(d["partition"], d["offset"]) for d in w.values(s.dlq_topic(s.topic_news_raw))}


def wait_outputs(out: Watcher, s: Settings, n: int, proc: WorkerProcess, timeout_s: float) -> bool:
    """Read outputs until n distinct ids reached news.enriched (False on timeout or if the process died)."""
    return out.until(lambda: len(enriched_ids(out, s)) >= n, timeout_s, alive=lambda: proc.proc.poll() is None)


def check_complete(w: Watcher, s: Settings, records: list[Record], positions: list[Position]) -> dict[str, int]:
    """Every valid id in news.enriched, every malformed record in the DLQ (by source position, with its
    original bytes); ids and dead letters seen more than once are redeliveries with identical content.
    Returns the number of redelivered copies."""
    valid = {r.id for r in records if r.id}
    copies: dict[str, set[bytes]] = collections.defaultdict(set)
    counts: collections.Counter[str] = collections.Counter()
    for r in w.records[s.topic_news_enriched]:
        doc = json.loads(r.value)
        copies[doc["id"]].add(r.value)
        counts[doc["id"]] += 1
        assert r.key == doc["id"].encode()
    assert set(copies) == valid, f"missing {len(valid - set(copies))}, unexpected {len(set(copies) - valid)}"
    different = {i: v for i, v in copies.items() if len(v) > 1}
    assert not different, f"redelivered ids with different content: {list(different)[:5]}"

    bad = {(p.partition, p.offset): p.value for p in positions if p.id is None}
    assert len(bad) == len(records) - len(valid)
    dead: dict[tuple[int, int], set[tuple[str, bytes]]] = collections.defaultdict(set)
    for d in w.values(s.dlq_topic(s.topic_news_raw)):
        assert d["source_topic"] == s.topic_news_raw and d["error"]
        dead[(d["partition"], d["offset"])].add((d["reason"], d["original_sha256"]))
    assert set(dead) == set(bad), "DLQ holds exactly the malformed records, by source position"
    for pos, entries in dead.items():
        assert len(entries) == 1, f"redelivered dead letter {pos} changed: {entries}"
        ((_, original),) = entries
        assert original == hashlib.sha256(bad[pos]).hexdigest()
    return {
        "duplicates": sum(counts.values()) - len(counts),
        "dlq_duplicates": len(w.records[s.dlq_topic(s.topic_news_raw)]) - len(dead),
    }
