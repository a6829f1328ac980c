"""A worker on a 3-broker Apache Kafka cluster (KRaft) loses nothing when the broker leading its input partitions
is SIGKILLed mid-stream and restarted: topics with replication factor 3 and `min.insync.replicas` 2, the
idempotent producer on, leadership moving to a surviving replica. Slow (three JVMs): `pytest -m slow --broker
kafka tests/pipeline/test_kafka_cluster.py`."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

import pytest
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from lepton_stream.kafka.backend import client_kwargs, make_producer
from lepton_stream.runtime import build_loop, build_worker
from lepton_stream.tooling.dev.kafka import ApacheKafka
from lepton_stream.tooling.dev.ports import free_port
from lepton_stream.tooling.replay import synth
from tests.pipeline.kafka_helpers import make_settings, read_topic

N = 600


@pytest.fixture(scope="module")
def news_model(models_dir):
    from lepton_stream.models.serving import load_model

    return load_model(models_dir / "news", "torch")


@pytest.fixture
def three_brokers(tmp_path: Path, broker_kind: str):
    if broker_kind != "kafka":
        pytest.skip("a 3-broker cluster is Apache Kafka's (--broker kafka)")
    k = ApacheKafka(port=free_port(), workdir=tmp_path / "kafka", brokers=3)
    k.start(timeout_s=180)
    yield k
    k.stop()


@pytest.mark.slow
@pytest.mark.broker
def test_killing_the_input_leader_mid_stream_loses_nothing(three_brokers: ApacheKafka, redis_url, key_prefix,
                                                           models_dir, news_model):  # fmt: skip
    s = make_settings(three_brokers.bootstrap, redis_url, key_prefix, models_dir, producer_idempotence=True)
    admin = KafkaAdminClient(**client_kwargs(s))
    topics = [s.topic_news_raw, s.topic_news_enriched, s.topic_alerts, s.dlq_topic(s.topic_news_raw)]
    admin.create_topics([NewTopic(t, 4, 3, topic_configs={"min.insync.replicas": "2"}) for t in topics])
    admin.close()

    records = synth.news_stream(n=N, seed=41, malformed=0.0)
    loop = build_loop(build_worker("news", s, model=news_model))
    worker = threading.Thread(target=loop.run, kwargs={"idle_exit_s": 20.0}, daemon=True)
    worker.start()

    producer = make_producer(s)
    futures = []
    leader = None
    for i, r in enumerate(records):
        futures.append(producer.send(s.topic_news_raw, key=r.key, value=r.value))
        if i == N // 3:
            producer.flush()
            leader = three_brokers.leaders(s.topic_news_raw)[0]
            three_brokers.kill(leader - 1, signal.SIGKILL)  # node ids are 1..3
        elif i == 2 * N // 3:
            producer.flush()
            three_brokers.restart(leader - 1)  # type: ignore[operator]
        time.sleep(0.005)
    producer.flush()
    producer.close()
    assert not [f for f in futures if f.failed()], "every record was acknowledged (acks=all, 2 in sync)"

    out = read_topic(three_brokers.bootstrap, s.topic_news_enriched, expect=N, timeout_s=300)
    loop.stopping = True
    worker.join(timeout=120)
    ids = [json.loads(o.value)["id"] for o in out]
    assert set(ids) == {r.id for r in records}, "lost: every input has its output"
    print(json.dumps({"leader_killed": leader, "outputs": len(ids), "duplicates": len(ids) - len(set(ids))}))
