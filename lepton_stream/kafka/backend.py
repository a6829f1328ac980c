"""Kafka clients (kafka-python) built from Settings: consumer, producer, admin, and topic creation."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import TopicAlreadyExistsError

from lepton_stream.config import Settings
from lepton_stream.kafka.topics import Layout, layout
from lepton_stream.ops.kafka_security import kafka_client_kwargs


def client_kwargs(settings: Settings) -> dict[str, Any]:
    """Bootstrap servers and security options (SASL PLAIN/SCRAM, TLS) shared by every client."""
    return {"bootstrap_servers": settings.bootstrap_servers, **kafka_client_kwargs(settings)}


class _Listener(ConsumerRebalanceListener):
    def __init__(self, on_assign: Callable[[set], None], on_revoke: Callable[[set], None]):
        self._on_assign, self._on_revoke = on_assign, on_revoke

    def on_partitions_assigned(self, assigned):  # noqa: D401 - kafka-python callback names
        self._on_assign(set(assigned))

    def on_partitions_revoked(self, revoked):
        self._on_revoke(set(revoked))


def make_consumer(
    settings: Settings,
    topics: Iterable[str],
    group_id: str,
    on_assign: Callable[[set], None] = lambda _: None,
    on_revoke: Callable[[set], None] = lambda _: None,
) -> KafkaConsumer:
    consumer = KafkaConsumer(
        **client_kwargs(settings),
        group_id=group_id,
        enable_auto_commit=False,  # offsets are committed only after outputs are flushed
        auto_offset_reset="earliest",
        # Upstream producers may write in transactions (Kafka Streams, Flink's exactly-once sinks): what an
        # aborted transaction wrote must never be counted, so the worker reads only committed records.
        isolation_level="read_committed",
        max_poll_records=settings.max_records,
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        session_timeout_ms=settings.session_timeout_ms,
        heartbeat_interval_ms=settings.heartbeat_interval_ms,
        max_poll_interval_ms=settings.max_poll_interval_ms,
        # A record larger than this is still fetched (Kafka returns at least one); the decoder dead-letters it.
        max_partition_fetch_bytes=max(1 << 20, settings.max_message_bytes * 2),
    )
    topics = list(topics)
    consumer.subscribe(topics, listener=_Listener(on_assign, on_revoke))
    # Metadata of the topics before the first join, fetched after subscribing so that the coordinator records it
    # as what it assigned from. Apache Kafka answers a join at once (tansu after a wait), so the group leader
    # could otherwise assign before its first metadata response: nothing for anyone, then a second rebalance
    # (measured: every first join of a fresh group on Kafka 4.1).
    for topic in topics:
        consumer.partitions_for_topic(topic)
    return consumer


def make_producer(settings: Settings, **overrides: Any) -> KafkaProducer:
    kw: dict[str, Any] = {
        "acks": "all",
        "linger_ms": 5,
        # kafka-python builds record batches in Python, so per-batch work dominates at the 16 KB default with
        # 1-2 KB outputs (a 256-record micro-batch made ~25 producer batches): 256 KB took 2.8x less CPU.
        "batch_size": 256 * 1024,
        "retries": 10,
        # Broker-side dedup of producer retries. Without it a retry may duplicate a record (at-least-once
        # allows that) and, with more than one request in flight, reorder a partition: one keeps the order.
        "enable_idempotence": settings.producer_idempotence,
        "max_in_flight_requests_per_connection": 5 if settings.producer_idempotence else 1,
        "request_timeout_ms": 30_000,
    }
    kw.update(overrides)
    return KafkaProducer(**client_kwargs(settings), **kw)


def ensure_topics(settings: Settings, topics: dict[str, int], timeout_s: float = 15.0) -> Layout | None:
    """Create topics with the given partition counts and the settings' replication (kafka/topics.py); existing
    ones are left as they are. Returns the replication of the topics it created (None: none were missing)."""
    admin = KafkaAdminClient(**client_kwargs(settings), request_timeout_ms=10_000)
    try:
        existing = set(admin.list_topics())
        missing = {t: n for t, n in topics.items() if t not in existing}
        lay = layout(settings, len(admin.describe_cluster()["brokers"])) if missing else None
        new = [NewTopic(t, num_partitions=n, replication_factor=lay.replication_factor, topic_configs=lay.configs())
               for t, n in missing.items() if lay is not None]  # fmt: skip
        if new:
            with contextlib.suppress(TopicAlreadyExistsError):  # a concurrent creator won the race
                admin.create_topics(new)
        deadline = time.monotonic() + timeout_s
        while not set(topics) <= set(admin.list_topics()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"topics not visible after {timeout_s}s: {sorted(set(topics))}")
            time.sleep(0.05)
        return lay
    finally:
        admin.close()


def check_writable(settings: Settings, topics: list[str]) -> None:
    """At start: raise ConfigError if acks=all writes to any of the topics can never succeed."""
    from lepton_stream.kafka.topics import check_writable as check

    admin = KafkaAdminClient(**client_kwargs(settings), request_timeout_ms=10_000)
    try:
        check(admin, topics)
    finally:
        admin.close()


def read_topic(settings: Settings, topic: str, expect: int | None = None, timeout_s: float = 60.0,
               settle_s: float = 2.0) -> list:  # fmt: skip
    """Every record of a topic, all partitions from the start (demo, tests, benchmarks; not the worker's path).

    Stops at `expect` records, when nothing new arrived for settle_s, or at the timeout."""
    consumer = KafkaConsumer(**client_kwargs(settings), enable_auto_commit=False)
    deadline = time.monotonic() + timeout_s
    parts = None
    while not parts and time.monotonic() < deadline:
        parts = consumer.partitions_for_topic(topic)
        if not parts:
            time.sleep(0.2)
    if not parts:
        consumer.close()
        return []
    _from_start(consumer, topic, parts)
    out: list = []
    last_new = time.monotonic()
    while time.monotonic() < deadline:
        batch = consumer.poll(timeout_ms=300)
        n = sum(len(v) for v in batch.values())
        for recs in batch.values():
            out.extend(recs)
        if n:
            last_new = time.monotonic()
        if expect is not None and len(out) >= expect and time.monotonic() - last_new > 0.5:
            break
        if expect is None and time.monotonic() - last_new > settle_s:
            break
    consumer.close()
    return out


def read_to_end(settings: Settings, topic: str, timeout_s: float = 120.0) -> Iterator:
    """Every record of a topic from the start to its end as of the read (offline tools; not the worker's path).

    The end is each partition's high watermark as a fetch reports it (tansu's `end_offsets` is off by a
    batch): done when every position has reached it. Raises TimeoutError rather than return part of a topic."""
    consumer = KafkaConsumer(**client_kwargs(settings), enable_auto_commit=False)
    try:
        parts = consumer.partitions_for_topic(topic)
        if not parts:
            return
        tps = _from_start(consumer, topic, parts)
        deadline = time.monotonic() + timeout_s
        ends: dict[TopicPartition, int] = {}  # fixed at the first fetch: records produced meanwhile are not waited for
        while True:
            got = consumer.poll(timeout_ms=300)
            for tp in tps:
                if tp not in ends and consumer.highwater(tp) is not None:
                    ends[tp] = consumer.highwater(tp)
            for tp, recs in got.items():
                yield from (r for r in recs if tp not in ends or r.offset < ends[tp])
            if len(ends) == len(tps) and all(consumer.position(tp) >= end for tp, end in ends.items()):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}: not read to its end within {timeout_s:.0f} s")
    finally:
        consumer.close()


def _from_start(consumer: KafkaConsumer, topic: str, parts: Iterable[int]) -> list[TopicPartition]:
    """Assign every partition of `topic` to a group-less consumer, positioned at the first record."""
    tps = [TopicPartition(topic, p) for p in sorted(parts)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    return tps
