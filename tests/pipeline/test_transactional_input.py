"""Input written by transactional producers (Kafka Streams, Flink's exactly-once sinks, librdkafka with a
`transactional.id`), through a running worker and the real broker: what an aborted transaction wrote is never
processed, what a committed one wrote is processed once, and the worker's offsets move past the transaction
markers to the partition's end (an idle worker commits its position there).
"""

from __future__ import annotations

import pytest
from confluent_kafka import Producer as OutsideProducer
from kafka import KafkaConsumer, TopicPartition

from lepton_stream.kafka.backend import ensure_topics
from lepton_stream.runtime import build_loop, build_worker
from lepton_stream.tooling.replay import synth
from tests.pipeline.kafka_helpers import make_settings, read_topic, values
from tests.pipeline.test_hostile_input import run_until_idle
from tests.pipeline.worker_proc import committed


def end_offset(bootstrap: str, topic: str, partition: int) -> int:
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        tp = TopicPartition(topic, partition)
        return c.end_offsets([tp])[tp]
    finally:
        c.close()


def test_an_aborted_transaction_is_never_processed_and_a_committed_one_is(broker, broker_kind, redis_url, key_prefix,
                                                                          models_dir, news_model):  # fmt: skip
    if broker_kind == "tansu":
        pytest.skip("tansu serves an aborted transaction's records to read_committed consumers; runs on Apache Kafka")
    s = make_settings(broker.bootstrap, redis_url, key_prefix, models_dir)
    ensure_topics(s, {s.topic_news_raw: 1})
    records = synth.news_stream(n=30, seed=31, malformed=0.0, incident=False)
    aborted, kept = records[:12], records[12:]
    p = OutsideProducer({"bootstrap.servers": broker.bootstrap, "transactional.id": f"{key_prefix}-upstream"})
    p.init_transactions(60)
    for chunk, commit in ((aborted, False), (kept[:9], True), (kept[9:], True)):
        p.begin_transaction()
        for r in chunk:
            p.produce(s.topic_news_raw, value=r.value, key=r.key, partition=0)
        p.flush(30)
        (p.commit_transaction if commit else p.abort_transaction)(60)

    for _ in range(2):  # the second run of the group finds nothing left to redeliver
        thread = run_until_idle(build_loop(build_worker("news", s, model=news_model)))
        thread.join(timeout=240)
        assert not thread.is_alive() and not thread.errors
    out = values(read_topic(broker.bootstrap, s.topic_news_enriched, expect=len(kept), timeout_s=30))
    assert sorted(o["id"] for o in out) == sorted(r.id for r in kept)
    # 30 records and 3 transaction markers: the group's offset is the partition's end (no lag that holds nothing)
    end = end_offset(broker.bootstrap, s.topic_news_raw, 0)
    assert end == len(records) + 3
    assert committed(s, f"{s.group_prefix}-news", s.topic_news_raw, 1)[0] == end
