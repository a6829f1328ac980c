"""Hostile input through a running worker, the real broker and Redis: every record ends as an output or a dead
letter, offsets are committed past it, and nothing jams a partition or ends the worker.

- records compressed by a client the project did not write (librdkafka: gzip, snappy, lz4, zstd);
- a partition whose data the consumer cannot read (a codec library missing): its records are dead-lettered
  one by one as `undecodable`, the partition moves on, the other partitions never stop;
- a record far above the input limit: its dead letter keeps a bounded prefix, its size and sha256;
- an output the broker can never take: dead-lettered as `send_failed` instead of retried forever;
- a flush that times out while the broker is slow: the records are waited on again, never sent twice;
- the decode fuzzer's hostile inputs (tests/pipeline/test_decode_fuzz.py), mixed with valid records, oversized
  ones, tombstones, future timestamps and odd or huge keys, over several partitions and two producers, through
  one running worker of each kind: every input ends exactly once, as an output or a dead letter with a reason,
  and every partition is committed to its end.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import json
import threading
import time
from typing import Any

import kafka.codec
import pytest
from confluent_kafka import Producer as OutsideProducer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from kafka import KafkaConsumer, TopicPartition

from lepton_stream.contracts import ChatMessage, NewsItem
from lepton_stream.kafka.backend import ensure_topics, make_producer
from lepton_stream.pipeline.batch import Output, RawRecord
from lepton_stream.pipeline.decode import decode, future_dead
from lepton_stream.pipeline.produce import PublishError, Sink
from lepton_stream.runtime import build_loop, build_worker
from lepton_stream.tooling.replay import synth
from lepton_stream.tooling.replay.synth import Record
from tests.pipeline.kafka_helpers import make_settings, read_topic, values
from tests.pipeline.test_decode_fuzz import BASE, deep_json, invalid_utf8, json_values, mutated_message, serialised
from tests.pipeline.worker_proc import Watcher, committed

CODECS = ("gzip", "snappy", "lz4", "zstd")


def run_until_idle(loop, idle_exit_s: float = 6.0) -> threading.Thread:
    errors: list[BaseException] = []

    def target() -> None:
        try:
            loop.run(idle_exit_s=idle_exit_s)
        except BaseException as exc:  # the test asserts there was none
            errors.append(exc)
            raise

    thread = threading.Thread(target=target, daemon=True)
    thread.errors = errors  # type: ignore[attr-defined]
    thread.start()
    return thread


def outside_produce(bootstrap: str, topic: str, records, compression: str, partition: int | None = None) -> None:
    """librdkafka's idempotent producer, batching, compressing as asked."""
    p = OutsideProducer({"bootstrap.servers": bootstrap, "compression.type": compression,
                         "enable.idempotence": True, "linger.ms": 100})  # fmt: skip
    for r in records:
        kw = {"partition": partition} if partition is not None else {}
        p.produce(topic, value=r.value, key=r.key, **kw)
    assert p.flush(30) == 0


def committed_total(bootstrap: str, group: str, topic: str, partitions: int) -> int:
    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    c.assign(tps)
    total = sum(c.committed(tp) or 0 for tp in tps)
    c.close()
    return total


def test_records_compressed_with_every_kafka_codec_by_an_outside_client(broker, redis_url, key_prefix, models_dir,
                                                                        news_model):  # fmt: skip
    s = make_settings(broker.bootstrap, redis_url, key_prefix, models_dir)
    ensure_topics(s, {s.topic_news_raw: 2})
    records = synth.news_stream(n=160, seed=21, malformed=0.05, incident=False)
    chunks = [records[i::4] for i in range(4)]
    for codec, chunk in zip(CODECS, chunks, strict=True):
        outside_produce(broker.bootstrap, s.topic_news_raw, chunk, codec)
    valid = {r.id for r in records if r.id}
    bad = [r for r in records if r.id is None]

    thread = run_until_idle(build_loop(build_worker("news", s, model=news_model)))
    out = values(read_topic(broker.bootstrap, s.topic_news_enriched, expect=len(valid), timeout_s=180))
    dlq = values(read_topic(broker.bootstrap, s.dlq_topic(s.topic_news_raw), expect=len(bad), timeout_s=30))
    thread.join(timeout=60)
    assert not thread.is_alive() and not thread.errors
    assert {o["id"] for o in out} == valid
    assert sorted(d["original_sha256"] for d in dlq) == sorted(hashlib.sha256(r.value).hexdigest() for r in bad)
    assert "undecodable" not in {d["reason"] for d in dlq}
    assert committed_total(broker.bootstrap, f"{s.group_prefix}-news", s.topic_news_raw, 2) == len(records)


def test_a_partition_the_consumer_cannot_read_is_stepped_past_and_the_others_keep_moving(
    broker, redis_url, key_prefix, models_dir, news_model, monkeypatch
):
    """The codec library missing (as zstd was before it was a dependency): kafka-python raises from poll for
    that partition's batch and then spun inside the next poll. Now each of its records is dead-lettered."""
    s = make_settings(broker.bootstrap, redis_url, key_prefix, models_dir)
    ensure_topics(s, {s.topic_news_raw: 2})
    records = synth.news_stream(n=40, seed=22, malformed=0.0, incident=False)
    unreadable, after, other = records[:6], records[6:16], records[16:]
    outside_produce(broker.bootstrap, s.topic_news_raw, unreadable, "zstd", partition=0)
    outside_produce(broker.bootstrap, s.topic_news_raw, after, "none", partition=0)
    outside_produce(broker.bootstrap, s.topic_news_raw, other, "none", partition=1)
    monkeypatch.setattr(kafka.codec, "zstd", None)  # this process can no longer read zstd batches

    thread = run_until_idle(build_loop(build_worker("news", s, model=news_model)))
    readable = {r.id for r in after + other}
    out = values(read_topic(broker.bootstrap, s.topic_news_enriched, expect=len(readable), timeout_s=180))
    dlq = values(read_topic(broker.bootstrap, s.dlq_topic(s.topic_news_raw), expect=len(unreadable), timeout_s=60))
    thread.join(timeout=60)
    assert not thread.is_alive() and not thread.errors
    assert {o["id"] for o in out} == readable
    assert sorted((d["reason"], d["partition"], d["offset"]) for d in dlq) == [
        ("undecodable", 0, i) for i in range(len(unreadable))
    ]
    assert all("zstd" in d["error"] for d in dlq)
    assert committed_total(broker.bootstrap, f"{s.group_prefix}-news", s.topic_news_raw, 2) == len(records)


def test_a_record_far_over_the_limit_is_dead_lettered_bounded_and_does_not_jam_its_partition(
    broker, redis_url, key_prefix, models_dir, news_model
):
    s = make_settings(broker.bootstrap, redis_url, key_prefix, models_dir, dlq_max_original_bytes=64 * 1024)
    ensure_topics(s, {s.topic_news_raw: 1})
    huge = json.dumps({"id": "huge-1", "source": "wire", "published_at": "2026-01-05T10:00:00Z",
                       "headline": "x", "body": "y" * 790_000}).encode()  # fmt: skip
    behind = synth.news_stream(n=10, seed=23, malformed=0.0, incident=False)
    producer = make_producer(s, max_request_size=2 * 1024 * 1024)
    producer.send(s.topic_news_raw, key=b"wire", value=huge)
    for r in behind:
        producer.send(s.topic_news_raw, key=r.key, value=r.value)
    producer.flush()
    producer.close()

    thread = run_until_idle(build_loop(build_worker("news", s, model=news_model)))
    out = values(read_topic(broker.bootstrap, s.topic_news_enriched, expect=len(behind), timeout_s=180))
    dlq = values(read_topic(broker.bootstrap, s.dlq_topic(s.topic_news_raw), expect=1, timeout_s=30))
    thread.join(timeout=60)
    assert not thread.is_alive() and not thread.errors
    assert {o["id"] for o in out} == {r.id for r in behind}
    [d] = dlq
    assert d["reason"] == "too_large" and d["offset"] == 0
    assert d["original_truncated"] and d["original_bytes"] == len(huge)
    assert d["original_sha256"] == hashlib.sha256(huge).hexdigest()
    assert base64.b64decode(d["original_b64"]) == huge[: 64 * 1024]
    assert committed_total(broker.bootstrap, f"{s.group_prefix}-news", s.topic_news_raw, 1) == 1 + len(behind)


def test_an_output_the_broker_can_never_take_is_dead_lettered_as_send_failed(
    broker, redis_url, key_prefix, models_dir, news_model
):
    """An enriched record over the producer's request limit: kafka-python refuses it in send() (record too
    large, not retriable). It was retried every 10 s forever, holding its partition; now its input record
    goes to the DLQ and the rest flow."""
    s = make_settings(broker.bootstrap, redis_url, key_prefix, models_dir, dlq_max_original_bytes=256)
    ensure_topics(s, {s.topic_news_raw: 1})
    def item(i: int, headline: str) -> bytes:
        return json.dumps({"id": f"n-{i}", "source": "wire", "published_at": "2026-01-05T10:00:00Z",
                           "headline": headline}).encode()  # fmt: skip

    values_in = [item(i, f"Markets quiet in session {i}") for i in range(12)]
    long_one = item(99, ("Markets quiet and calm " * 50)[:1000])
    values_in.insert(6, long_one)
    producer = make_producer(s)
    for value in values_in:
        producer.send(s.topic_news_raw, key=b"wire", value=value)
    producer.flush()
    producer.close()
    records = [json.loads(v) for v in values_in if v is not long_one]

    loop = build_loop(build_worker("news", s, model=news_model))
    loop.sink.producer.close()
    loop.sink.producer = make_producer(s, max_request_size=1200)  # the long headline's output is over it
    thread = run_until_idle(loop)
    out = values(read_topic(broker.bootstrap, s.topic_news_enriched, expect=len(records), timeout_s=180))
    dlq = values(read_topic(broker.bootstrap, s.dlq_topic(s.topic_news_raw), expect=1, timeout_s=30))
    thread.join(timeout=60)
    assert not thread.is_alive() and not thread.errors
    assert {o["id"] for o in out} == {r["id"] for r in records}
    [d] = dlq
    assert (d["reason"], d["offset"], d["original_bytes"]) == ("send_failed", 6, len(long_one))
    assert "MessageSizeTooLarge" in d["error"]
    # At 1,200 bytes even the bounded dead letter (256 original bytes, its CloudEvents headers) is refused: it
    # went out slim, without the original's bytes, still naming its size and sha256.
    assert d["original_b64"] == "" and d["original_truncated"]
    assert d["original_sha256"] == hashlib.sha256(long_one).hexdigest()
    assert committed_total(broker.bootstrap, f"{s.group_prefix}-news", s.topic_news_raw, 1) == len(records) + 1


def test_records_still_unacknowledged_at_the_flush_timeout_are_waited_on_not_sent_twice(broker):
    """A flush that times out (here: at once) must not re-send records the producer still holds: the broker
    would then store both copies."""
    s = make_settings(broker.bootstrap, "redis://unused:1/0", "unused:", ".")
    # A linger long enough that the records are still in the producer when wait() first runs, however loaded the
    # machine (a send() slower than the linger would let the first wait find them acknowledged already). It costs
    # no time: flush() sends at once, whatever the linger. Even so the producer's I/O thread can, between
    # flush()'s wakeup and its zero-second wait, send every batch and read a fast local broker's answers; such a
    # round does not test the path, so the scenario repeats (on a fresh topic) until a flush has timed out.
    timeouts, rounds = 0, 0
    while timeouts == 0:
        rounds += 1
        assert rounds <= 5, "no flush timed out in 5 rounds: the path under test never ran"
        topic = f"{s.topic_news_enriched}-{rounds}"
        ensure_topics(s, {topic: 2})
        sink = Sink(make_producer(s, linger_ms=20000), flush_timeout_s=0.0)
        outputs = [Output(topic, str(i % 7).encode(), json.dumps({"i": i}).encode()) for i in range(300)]
        futures = sink.send(outputs)
        deadline = time.monotonic() + 60
        while True:
            try:
                sink.wait(outputs, futures)
                break
            except PublishError:
                timeouts += 1
                assert time.monotonic() < deadline
                time.sleep(0.05)
        sink.producer.close()
        got = [json.loads(r.value)["i"] for r in read_topic(broker.bootstrap, topic, expect=300, timeout_s=30)]
        assert sorted(got) == list(range(300))


def test_topics_are_created_with_the_configured_partitions_and_replication(broker):
    from kafka import KafkaAdminClient

    s = make_settings(broker.bootstrap, "redis://unused:1/0", "unused:", ".", topic_partitions=3)
    from lepton_stream.runtime import kind_layout

    dlq_topic = s.dlq_topic(s.topic_news_raw)
    ensure_topics(s, kind_layout(s, "news"))
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    described = {d["name"]: d for d in admin.describe_topics(list(kind_layout(s, "news")))}
    brokers = len(admin.describe_cluster()["brokers"])
    admin.close()
    assert set(described) == {s.topic_news_enriched, s.topic_alerts, dlq_topic}
    for d in described.values():  # the DLQ too: not one partition
        assert len(d["partitions"]) == 3
        assert all(len(p["replica_nodes"]) == min(3, brokers) for p in d["partitions"])


def test_an_event_from_the_future_is_dead_lettered_and_does_not_stop_detection(broker, redis_url, key_prefix,
                                                                             models_dir, news_model):  # fmt: skip
    s = make_settings(broker.bootstrap, redis_url, key_prefix, models_dir, max_future_skew_s=600)
    ensure_topics(s, {s.topic_news_raw: 1})
    now = time.time()

    def item(i: int, ts: float) -> bytes:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
        return json.dumps({"id": f"f-{i}", "source": "wire", "published_at": stamp,
                           "headline": f"TSMC shares move in session {i}"}).encode()  # fmt: skip

    values_in = [item(0, now + 5 * 365 * 86400)] + [item(i, now - 120 + i) for i in range(1, 21)]
    producer = make_producer(s)
    for v in values_in:
        producer.send(s.topic_news_raw, key=b"wire", value=v)
    producer.flush()
    producer.close()
    worker = build_worker("news", s, model=news_model)
    thread = run_until_idle(build_loop(worker))
    out = values(read_topic(broker.bootstrap, s.topic_news_enriched, expect=20, timeout_s=180))
    dlq = values(read_topic(broker.bootstrap, s.dlq_topic(s.topic_news_raw), expect=1, timeout_s=30))
    thread.join(timeout=60)
    assert not thread.is_alive() and not thread.errors
    assert {o["id"] for o in out} == {f"f-{i}" for i in range(1, 21)}
    assert [(d["reason"], d["offset"]) for d in dlq] == [("future_timestamp", 0)]
    marks = worker.back_half.stage("state").store.watermarks()
    assert marks and all(float(v.rstrip("!")) <= time.time() + 600 for v in marks.values())


def test_missing_output_topics_with_creation_off_stop_the_worker_at_start(broker, redis_url, key_prefix, models_dir,
                                                                          news_model):  # fmt: skip
    from lepton_stream.config import ConfigError

    s = make_settings(broker.bootstrap, redis_url, key_prefix, models_dir, create_topics=False)
    with pytest.raises(ConfigError, match="do not exist"):
        build_loop(build_worker("news", s, model=news_model))


# ---------------------------------------------------------------- the decode fuzzer's inputs, through a worker

HOSTILE_EXAMPLES = 320
PARTITIONS = 4
MAX_MESSAGE_BYTES = 8 * 1024  # low, so some generated records are over it too
ODD_KEYS = [None, b"", b"\x00", b"\xff\xfe\xfd", b"\xc3\x28", "\U0001f600 key".encode(), b"k" * 1025,
            b"\x00\xff" * 2048, b"wire"]  # fmt: skip
HOSTILE_REASONS = {"too_large", "bad_encoding", "bad_json", "invalid", "future_timestamp"}


def hostile_values(contract: type, n: int) -> list[bytes | None]:
    """n values drawn from the decode fuzzer's strategies, the same ones on every run (derandomized)."""
    strategy = st.one_of(
        serialised(json_values),
        serialised(mutated_message(contract)),
        invalid_utf8(),
        st.binary(max_size=300),
        st.tuples(st.integers(1, 3_000), st.sampled_from(["list", "dict", "unclosed", "field"])).map(
            lambda a: deep_json(*a)
        ),
        st.none(),
    )
    drawn: list[bytes | None] = []

    @settings(max_examples=n, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(strategy)
    def draw(value: bytes | None) -> None:
        drawn.append(value)

    draw()
    return drawn


def special_records(contract: type) -> list[Record]:
    """The cases named by the issue: far over the input limit, tombstones, events from the future, odd keys."""
    base = BASE[contract]
    stamp_field = "published_at" if contract is NewsItem else "sent_at"
    text_field = "headline" if contract is NewsItem else "text"
    future = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3 * 86400))

    def doc(i: int, **kw: Any) -> bytes:
        return json.dumps({**base, "id": f"special-{i}", **kw}).encode()

    return [
        Record(b"wire", doc(0, **{text_field: "x" * 300_000}), None),  # ~37x LEPTON_MAX_MESSAGE_BYTES
        Record(b"wire", None, None),  # tombstones
        Record(None, None, None),
        Record(b"wire", doc(1, **{stamp_field: future}), None),
        Record(b"k" * 4096, doc(2), "special-2"),  # huge keys on valid records
        Record(b"\xff\x00" * 1024, doc(3), "special-3"),
        Record(b"\xc3\x28\x00", doc(4), "special-4"),
    ]


def expected_outcome(rec: RawRecord, contract: type, s, worker) -> tuple[str, str | None]:
    """What decode and the future check say of one input: ('dead', reason) or ('output', the output's id)."""
    items, dead = decode([rec], contract, s.max_message_bytes)
    items, future = future_dead(items, s.max_future_skew_s)
    if dead or future:
        return "dead", (dead or future)[0][1].reason
    worker._pseudonymise(items[0])  # an id holding an email is hashed before it reaches the output
    return "output", items[0].message.id


@pytest.mark.parametrize("kind", ["news", "chat"])
def test_hostile_inputs_through_a_running_worker_each_end_exactly_once(kind, broker, redis_url, key_prefix,
                                                                       models_dir, request):  # fmt: skip
    """The decode fuzzer's generated records, with valid ones and the special cases, go through ONE running
    worker over four partitions (half from kafka-python, half from librdkafka with compression): each input
    (partition, offset) ends as exactly one output or one dead letter with a reason, the worker ends without an
    exception, and every partition is committed to its end (none jammed)."""
    contract = NewsItem if kind == "news" else ChatMessage
    model = request.getfixturevalue(f"{kind}_model")
    s = make_settings(broker.bootstrap, redis_url, key_prefix, models_dir, topic_partitions=PARTITIONS,
                      max_message_bytes=MAX_MESSAGE_BYTES, max_future_skew_s=600,
                      dlq_max_original_bytes=4096)  # fmt: skip
    topic = s.topic_news_raw if kind == "news" else s.topic_chat_raw
    out_topic = s.topic_news_enriched if kind == "news" else s.topic_chat_routed
    dlq_topic = s.dlq_topic(topic)
    ensure_topics(s, {topic: PARTITIONS})

    drawn = hostile_values(contract, HOSTILE_EXAMPLES)
    hostile = [Record(ODD_KEYS[i % len(ODD_KEYS)], v, None) for i, v in enumerate(drawn)]
    assert len(hostile) >= HOSTILE_EXAMPLES * 0.9
    stream = synth.news_stream if kind == "news" else synth.chat_stream
    valid = stream(n=60, seed=41, malformed=0.1, incident=False)
    records = hostile + valid + special_records(contract)
    mixed = [records[i] for i in sorted(range(len(records)), key=lambda i: (i * 7919) % len(records))]
    by_partition = [mixed[p::PARTITIONS] for p in range(PARTITIONS)]

    producer = make_producer(s, max_request_size=2 * 1024 * 1024)
    futures = [producer.send(topic, key=r.key, value=r.value, partition=p)
               for p in (0, 1) for r in by_partition[p]]  # fmt: skip
    producer.flush()
    producer.close()
    assert all(f.succeeded() for f in futures)
    outside_produce(broker.bootstrap, topic, by_partition[2], "zstd", partition=2)
    outside_produce(broker.bootstrap, topic, by_partition[3], "lz4", partition=3)

    # Every input position, read back, and what it should become.
    w = Watcher(s, {topic: PARTITIONS})
    assert w.until(lambda: len(w.records[topic]) >= len(records), timeout_s=60)
    inputs = {(r.partition, r.offset): RawRecord(topic, r.partition, r.offset, r.key, r.value)
              for r in w.records[topic]}  # fmt: skip
    w.close()
    assert len(inputs) == len(records)
    ends = {p: sum(1 for q, _ in inputs if q == p) for p in range(PARTITIONS)}
    assert ends == {p: len(by_partition[p]) for p in range(PARTITIONS)}

    worker = build_worker(kind, s, model=model)
    expected = {pos: expected_outcome(rec, contract, s, worker) for pos, rec in inputs.items()}
    want_dead = {pos: reason for pos, (what, reason) in expected.items() if what == "dead"}
    want_ids = collections.Counter(i for what, i in expected.values() if what == "output")
    # The draw is varied enough to exercise both ends and the main reasons.
    assert len(want_ids) >= 40 and {"too_large", "bad_encoding", "bad_json", "invalid", "future_timestamp"} <= set(
        want_dead.values()
    )
    assert {i for r in valid if (i := r.id)} <= set(want_ids)

    thread = run_until_idle(build_loop(worker))
    thread.join(timeout=300)
    assert not thread.is_alive(), "the worker did not go idle: a partition is jammed"
    assert not thread.errors  # type: ignore[attr-defined]

    # The worker left (idle) after flushing and committing everything: the outputs are all there.
    n_out = sum(want_ids.values())
    out = read_topic(broker.bootstrap, out_topic, expect=n_out, timeout_s=60)
    dlq = read_topic(broker.bootstrap, dlq_topic, expect=len(want_dead), timeout_s=60)
    dead_at: dict[tuple[int, int], list[str]] = collections.defaultdict(list)
    for d in values(dlq):
        assert d["source_topic"] == topic and d["reason"] and d["error"]
        dead_at[(d["partition"], d["offset"])].append(d["reason"])
    assert all(len(r) == 1 for r in dead_at.values()), "a record dead-lettered twice"
    assert {pos: r[0] for pos, r in dead_at.items()} == want_dead, "the DLQ holds exactly the hostile records"
    got_ids = collections.Counter(json.loads(r.value)["id"] for r in out)
    assert got_ids == want_ids, "every other record has exactly one output"
    assert len(out) + len(dlq) == len(inputs)
    for d in values(dlq):
        pos = (d["partition"], d["offset"])
        original = inputs[pos].value or b""
        assert d["original_bytes"] == len(original)
        assert base64.b64decode(d["original_b64"]) == original[:4096]

    assert committed(s, f"{s.group_prefix}-{kind}", topic, PARTITIONS) == ends, "every partition committed to its end"


def test_a_topic_that_refuses_every_acks_all_write_stops_the_worker_at_start(broker, broker_kind):
    """min.insync.replicas above the replica count: Kafka takes the topic and then refuses every write
    (NOT_ENOUGH_REPLICAS, retriable, forever). The worker says so at start. tansu reports no topic configs."""
    if broker_kind != "kafka":
        pytest.skip("tansu does not report topic configs")
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    from lepton_stream.config import ConfigError
    from lepton_stream.kafka.backend import check_writable

    s = make_settings(broker.bootstrap, "redis://unused:1/0", "unused:", ".")
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    brokers = len(admin.describe_cluster()["brokers"])
    admin.create_topics([NewTopic(s.topic_alerts, 1, 1, topic_configs={"min.insync.replicas": str(brokers + 1)})])
    admin.close()
    with pytest.raises(ConfigError, match="min.insync.replicas"):
        check_writable(s, [s.topic_alerts])
