"""CloudEvents headers on real outputs: through the real broker (read back by a plain kafka-python consumer, and
by librdkafka as an outside subscriber would) on enriched news, alerts and dead letters; on routed chat; and
unchanged on an alert re-published from the outbox."""

from __future__ import annotations

import collections
import json
import threading
import time

from confluent_kafka import OFFSET_BEGINNING, TopicPartition
from confluent_kafka import Consumer as OutsideConsumer

from lepton_stream.config import load_settings
from lepton_stream.kafka.backend import ensure_topics, make_producer
from lepton_stream.pipeline.batch import RawRecord
from lepton_stream.runtime import build_loop, build_worker
from lepton_stream.tooling.replay import synth
from lepton_stream.tooling.replay.producer import produce
from tests.pipeline.cloudevents_check import check
from tests.pipeline.kafka_helpers import make_settings, read_topic


def ce(record) -> dict[str, str]:
    return {n: v.decode() for n, v in record.headers if n.startswith("ce_")}


def outside_read(bootstrap: str, topic: str, n: int, timeout_s: float = 60.0) -> list[tuple]:
    """(key, value, headers) of a topic's first n records, read by librdkafka from the start of every partition
    (assigned, not subscribed: a group join adds seconds and tests nothing here)."""
    c = OutsideConsumer({"bootstrap.servers": bootstrap, "group.id": f"outside-{topic}", "enable.auto.commit": False})
    parts = c.list_topics(topic, timeout=30).topics[topic].partitions
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
    out: list[tuple] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(out) < n and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error():
                out.append((m.key(), m.value(), sorted(m.headers() or [])))
    finally:
        c.close()
    return out


def test_every_output_record_carries_its_cloudevent_through_the_broker(
    broker, redis_url, key_prefix, models_dir, news_model
):
    s = make_settings(broker.bootstrap, redis_url, key_prefix, models_dir, detector_warmup=12, detector_warmup_s=0)
    ensure_topics(s, {s.topic_news_raw: 2})
    records = synth.news_stream(n=1200, seed=5, malformed=0.02)
    producer = make_producer(s)
    assert produce(producer, s.topic_news_raw, records)["failed"] == 0
    producer.close()
    loop = build_loop(build_worker("news", s, model=news_model))
    # A generous idle exit: on a busy machine joining the group alone can take seconds, and counts as idle.
    thread = threading.Thread(target=loop.run, kwargs={"idle_exit_s": 15.0}, daemon=True)
    thread.start()
    valid = {r.id for r in records if r.id}
    bad = len(records) - len(valid)
    enriched = read_topic(broker.bootstrap, s.topic_news_enriched, expect=len(valid), timeout_s=300)
    dead = read_topic(broker.bootstrap, s.dlq_topic(s.topic_news_raw), expect=bad, timeout_s=30)
    thread.join(timeout=60)
    alerts = read_topic(broker.bootstrap, s.topic_alerts, timeout_s=30)
    assert len(enriched) == len(valid) and len(dead) == bad and alerts

    for r in enriched + alerts + dead:
        check(r.headers, r.key, r.value)
    for r in enriched:
        body, h = json.loads(r.value), ce(r)
        assert h["ce_id"] == f"news.enriched:{body['id']}" and h["ce_type"] == "io.lepton.news.enriched.v1"
        assert h["ce_source"] == "/lepton-stream/news"
        assert dict(r.headers)["model_version"] == news_model.version.encode(), "the other headers stay"
    assert len({ce(r)["ce_id"] for r in enriched}) == len(enriched)
    for r in alerts:
        body, h = json.loads(r.value), ce(r)
        assert h["ce_id"] == body["alert_id"] and h["ce_type"] == "io.lepton.alert.v1"
        assert h["ce_subject"] == body["subject"] == r.key.decode()
        assert (h["ce_alertkind"], h["ce_severity"]) == (body["kind"], body["severity"])
    assert {json.loads(r.value)["kind"] for r in alerts} >= {"sentiment_spike", "propagated_risk"}
    for r in dead:
        body, h = json.loads(r.value), ce(r)
        where = f"{body['source_topic']}/{body['partition']}/{body['offset']}"
        assert h["ce_id"] == f"dlq:{where}/{body['reason']}" and h["ce_subject"] == where
        assert h["ce_type"] == "io.lepton.deadletter.v1"
    assert len({ce(r)["ce_id"] for r in dead}) == len(dead)
    # A subscriber on another client (librdkafka: Java's, Go's and most others' wire behaviour) reads the same
    # records, byte for byte, headers included.
    for topic, got in ((s.topic_news_enriched, enriched), (s.topic_alerts, alerts),
                       (s.dlq_topic(s.topic_news_raw), dead)):  # fmt: skip
        theirs = outside_read(broker.bootstrap, topic, len(got))
        ours = [(r.key, r.value, sorted(r.headers)) for r in got]
        assert sorted(theirs) == sorted(ours)


def test_routed_chat_carries_its_cloudevent(redis_url, key_prefix, models_dir, chat_model):
    s = load_settings(redis_url=redis_url, redis_key_prefix=key_prefix, models_dir=models_dir, runtime="torch")
    w = build_worker("chat", s, model=chat_model)
    records = synth.chat_stream(n=40, seed=3, malformed=0.1)
    outs = w.process([RawRecord(w.input_topic, 0, i, r.key, r.value, timestamp_ms=1_793_000_000_000 + i)
                      for i, r in enumerate(records)])  # fmt: skip
    w.flushed()
    kinds = collections.Counter()
    for o in outs:
        event = check(o.headers, o.key, o.value)
        kinds[event.get_type()] += 1
        if o.topic == s.topic_chat_routed:
            body = json.loads(o.value)
            assert event.get_id() == f"chat.routed:{body['id']}" and event.get_subject() == body["conversation_id"]
    assert kinds["io.lepton.chat.routed.v1"] == sum(1 for r in records if r.id)
    assert kinds["io.lepton.deadletter.v1"] == sum(1 for r in records if r.id is None) > 0


def test_an_alert_republished_from_the_outbox_keeps_its_event_id(redis_url, key_prefix, models_dir, news_model):
    """A batch whose alerts were claimed but never acknowledged (the pod died before the broker took them): the
    outbox hands them out again once overdue, and the re-published records carry the same CloudEvents headers."""
    s = load_settings(redis_url=redis_url, redis_key_prefix=key_prefix, models_dir=models_dir, runtime="torch",
                      detector_warmup=12, detector_warmup_s=0, outbox_grace_s=1)  # fmt: skip
    w = build_worker("news", s, model=news_model)
    records = synth.news_stream(n=1200, seed=5, malformed=0.0)
    first = []
    for i in range(0, len(records), 100):
        raws = [RawRecord(w.input_topic, 0, i + j, r.key, r.value) for j, r in enumerate(records[i : i + 100])]
        first += [o for o in w.process(raws) if o.topic == s.topic_alerts]
        w.discard_after_flush()  # never acknowledged: the outbox keeps every claimed alert
    assert first
    time.sleep(1.5)  # past the outbox's grace
    again = [o for o in w.process([]) if o.topic == s.topic_alerts]
    w.flushed()
    # (With a 1 s grace, alerts of early batches may already have come back during the run: same headers too.)
    assert {o.headers for o in again} == {o.headers for o in first}
    assert len(again) == len({o.headers for o in first})
    # Each re-published record is its own alert's body, under its own id.
    assert {o.value for o in again} == {o.value for o in first}
    assert {dict(o.headers)["ce_id"].decode() for o in again} == {json.loads(o.value)["alert_id"] for o in first}
