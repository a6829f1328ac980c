"""End to end through the real broker and Redis: every valid id reaches the output, every malformed one the DLQ."""

from __future__ import annotations

import base64
import collections
import dataclasses
import gc
import hashlib
import json
import threading

from kafka import KafkaConsumer, TopicPartition

from lepton_stream.kafka.backend import ensure_topics, make_producer
from lepton_stream.runtime import build_loop, build_worker
from lepton_stream.tooling.replay import synth
from lepton_stream.tooling.replay.producer import produce
from tests.pipeline.kafka_helpers import make_settings, read_topic, values


def start_worker(kind, settings, model):
    loop = build_loop(build_worker(kind, settings, model=model))
    thread = threading.Thread(target=loop.run, kwargs={"idle_exit_s": 6.0}, daemon=True)
    thread.start()
    return loop, thread


def test_news_stream_end_to_end(broker, redis_url, key_prefix, models_dir, news_model):
    s = make_settings(broker.bootstrap, redis_url, key_prefix, models_dir)
    ensure_topics(s, {s.topic_news_raw: 4})
    records = synth.news_stream(n=2000, seed=11, malformed=0.05)
    producer = make_producer(s)
    report = produce(producer, s.topic_news_raw, records)
    producer.close()
    assert report["failed"] == 0

    loop, thread = start_worker("news", s, news_model)
    frozen: list[int] = []
    loop.housekeeping.append(lambda: frozen.append(gc.get_freeze_count()))
    valid = {r.id for r in records if r.id}
    bad = [r for r in records if r.id is None]
    out = values(read_topic(broker.bootstrap, s.topic_news_enriched, expect=len(valid), timeout_s=240))
    dlq = values(read_topic(broker.bootstrap, s.dlq_topic(s.topic_news_raw), expect=len(bad), timeout_s=30))
    thread.join(timeout=60)
    assert not thread.is_alive()
    # The startup heap is out of the cyclic collector's way while the loop runs, and given back at close.
    assert frozen and min(frozen) > 0
    assert gc.get_freeze_count() == 0

    assert {o["id"] for o in out} == valid
    assert all(o["model_version"] == news_model.version for o in out)
    assert {o["sentiment"]["label"] for o in out} <= {"negative", "neutral", "positive"}
    # Each malformed record is in the DLQ exactly with its original bytes, a reason and its source offset.
    assert len(dlq) == len(bad)
    assert sorted(d["original_sha256"] for d in dlq) == sorted(hashlib.sha256(r.value).hexdigest() for r in bad)
    reasons = collections.Counter(d["reason"] for d in dlq)
    assert set(reasons) == {"bad_json", "invalid", "bad_encoding", "too_large"}
    assert all(d["source_topic"] == s.topic_news_raw and d["offset"] >= 0 and d["error"] for d in dlq)
    assert len({(d["partition"], d["offset"]) for d in dlq}) == len(dlq)

    # Offsets were committed up to the end of every partition.
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=f"{s.group_prefix}-news", enable_auto_commit=False)
    tps = [TopicPartition(s.topic_news_raw, p) for p in range(4)]
    c.assign(tps)
    committed = sum(c.committed(tp) or 0 for tp in tps)
    c.close()
    assert committed == len(records)


def test_a_record_that_breaks_a_stage_is_dead_lettered_and_the_rest_go_through(
    broker, redis_url, key_prefix, models_dir, news_model
):
    """A bug that raises on one record (here in masking, which runs while the batch is staged) is retried,
    then the batch is split: that record goes to the DLQ as stage_failed with its bytes, the rest are output."""
    s = make_settings(broker.bootstrap, redis_url, key_prefix, models_dir, stage_retries=1, retry_backoff_ms=10)
    ensure_topics(s, {s.topic_news_raw: 4})
    records = synth.news_stream(n=80, seed=5, malformed=0.0)
    poison = records[40]
    msg = json.loads(poison.value)
    msg["headline"] = "POISON " + msg["headline"]
    records[40] = poison = dataclasses.replace(poison, value=json.dumps(msg).encode())
    producer = make_producer(s)
    assert produce(producer, s.topic_news_raw, records)["failed"] == 0
    producer.close()

    worker = build_worker("news", s, model=news_model)
    real = worker.masker

    def masker(text: str) -> str:
        if text.startswith("POISON"):
            raise ValueError("masker bug")
        return real(text)

    worker.masker = masker
    loop = build_loop(worker)
    thread = threading.Thread(target=loop.run, kwargs={"idle_exit_s": 6.0}, daemon=True)
    thread.start()
    out = values(read_topic(broker.bootstrap, s.topic_news_enriched, expect=len(records) - 1, timeout_s=120))
    dlq = values(read_topic(broker.bootstrap, s.dlq_topic(s.topic_news_raw), expect=1, timeout_s=30))
    thread.join(timeout=60)
    assert {o["id"] for o in out} == {r.id for r in records} - {poison.id}
    assert [(d["reason"], base64.b64decode(d["original_b64"])) for d in dlq] == [("stage_failed", poison.value)]
    assert "masker bug" in dlq[0]["error"]
