"""The chaos run's broker (tansu on S3 storage) keeps every acknowledged record across restarts, with the
producer settings the chaos workers use (`producer_idempotence=False`). With idempotence on, tansu 0.6.0
answered retried batches as duplicates without having stored them (100 of 25,140 acknowledged records
missing after five SIGKILL restarts, 20 after five SIGTERM restarts; docs/engines.md, tansu versus Kafka)."""

from __future__ import annotations

import threading
import time

import pytest
from kafka import KafkaConsumer, TopicPartition

from lepton_stream.config import load_settings
from lepton_stream.kafka.backend import ensure_topics, make_producer


@pytest.mark.slow
def test_no_acknowledged_record_lost_across_broker_restarts(tmp_path):
    pytest.importorskip("moto", reason="the durable broker needs moto[server]")
    from lepton_stream.tooling.bench.services import DurableBroker

    broker = DurableBroker(tmp_path / "broker")
    broker.start()
    try:
        s = load_settings(kafka_bootstrap=broker.bootstrap, producer_idempotence=False)
        ensure_topics(s, {"t": 1})
        acked: set[str] = set()
        failed: list[BaseException] = []
        stop = threading.Event()

        def produce() -> None:
            producer = make_producer(s)
            i = 0
            while not stop.is_set():
                key = str(i)
                f = producer.send("t", key=key.encode(), value=b"x" * 200)
                f.add_callback(lambda _md, k=key: acked.add(k))
                f.add_errback(failed.append)
                i += 1
                if i % 20 == 0:
                    time.sleep(0.01)  # a steady stream, so restarts land on requests in flight
            producer.flush(60)
            producer.close()

        thread = threading.Thread(target=produce)
        thread.start()
        for hard in (True, True, False, True, True):
            time.sleep(2)
            broker.restart(hard=hard)
        time.sleep(2)
        stop.set()
        thread.join(120)

        consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, consumer_timeout_ms=5000)
        tp = TopicPartition("t", 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        stored = {m.key.decode() for m in consumer}
        consumer.close()
        assert len(acked) > 1000 and not failed
        assert acked - stored == set(), f"{len(acked - stored)} of {len(acked)} acknowledged records missing"
    finally:
        broker.stop()
