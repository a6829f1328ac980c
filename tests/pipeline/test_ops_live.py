"""Metrics and readiness of a real worker run: scraped over HTTP while it consumes through the broker."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

from lepton_stream.kafka.backend import ensure_topics, make_producer
from lepton_stream.ops.http import serve
from lepton_stream.runtime import build_loop, build_worker, health_for
from lepton_stream.tooling.replay import synth
from lepton_stream.tooling.replay.producer import produce
from tests.pipeline.kafka_helpers import make_settings, read_topic


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def metric(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name}{{{want}}} not exported")


def test_metrics_move_and_readiness_follows_the_run(broker, redis_url, key_prefix, models_dir):
    from lepton_stream.models.serving import load_model

    s = make_settings(broker.bootstrap, redis_url, key_prefix, models_dir)
    worker = build_worker("news", s, model=load_model(models_dir / "news", "torch"))
    health = health_for(worker)
    server = serve(0, health)
    try:
        assert get(server.port, "/readyz")[0] == 503  # no partitions yet
        assert get(server.port, "/healthz")[0] == 200
        ensure_topics(s, {s.topic_news_raw: 4})
        records = synth.news_stream(n=300, seed=21, malformed=0.05)
        producer = make_producer(s)
        produce(producer, s.topic_news_raw, records)
        producer.close()
        loop = build_loop(worker, health=health)
        thread = threading.Thread(target=loop.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while get(server.port, "/readyz")[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert get(server.port, "/readyz")[0] == 200  # assigned, model loaded, Redis answers
        valid = sum(r.id is not None for r in records)
        assert len(read_topic(broker.bootstrap, s.topic_news_enriched, expect=valid, timeout_s=120)) >= valid
        time.sleep(1.0)
        _, text = get(server.port, "/metrics")
        assert metric(text, "lepton_messages_consumed_total", topic=s.topic_news_raw) >= len(records)
        assert metric(text, "lepton_messages_dead_lettered_total", topic=s.topic_news_raw, reason="invalid") > 0
        assert metric(text, "lepton_stage_seconds_count", worker="news", stage="inference") > 0
        assert metric(text, "lepton_stage_seconds_count", worker="news", stage="commit") > 0
        assert metric(text, "lepton_assigned_partitions", worker="news") == 4
        assert 'lepton_consumer_lag{partition="0",topic="' + s.topic_news_raw + '"}' in text
        loop.stopping = True
        thread.join(timeout=30)
        assert not thread.is_alive()
    finally:
        server.close()


def test_a_batch_that_never_finishes_fails_liveness_counts_redis_errors_and_stops_cleanly(
    broker, redis_url, key_prefix, models_dir
):
    """Redis gone for good: the state stage retries without end while the loop keeps polling. The oldest batch's
    age grows (metric), liveness fails past LEPTON_STUCK_BATCH_S, every retry counts as a Redis error, and a stop
    during the retries leaves without an exception, committing nothing of the unfinished batch."""
    import redis
    from kafka import KafkaConsumer, TopicPartition

    from lepton_stream.models.serving import load_model
    from lepton_stream.tooling.dev.ports import free_port

    s = make_settings(broker.bootstrap, redis_url, key_prefix, models_dir, stuck_batch_s=10, retry_backoff_ms=50)
    dead = redis.Redis(port=free_port(), socket_connect_timeout=0.2, socket_timeout=0.2)
    worker = build_worker("news", s, model=load_model(models_dir / "news", "torch"), client=dead)
    health = health_for(worker)
    server = serve(0, health)
    errors: list[BaseException] = []
    try:
        ensure_topics(s, {s.topic_news_raw: 2})
        producer = make_producer(s)
        produce(producer, s.topic_news_raw, synth.news_stream(n=40, seed=31, malformed=0.0))
        producer.close()
        loop = build_loop(worker, health=health)

        def run() -> None:
            try:
                loop.run()
            except BaseException as exc:  # asserted empty below
                errors.append(exc)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        # Until liveness fails for the stuck batch (on a loaded machine it can also fail earlier, for a first poll
        # that is slow to come: not what this test is about).
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            status, body = get(server.port, "/healthz")
            if status == 503 and json.loads(body)["oldest_batch_age_s"] > 10:
                break
            time.sleep(0.5)
        assert status == 503 and json.loads(body)["oldest_batch_age_s"] > 10, body
        _, text = get(server.port, "/metrics")
        assert metric(text, "lepton_oldest_batch_age_seconds", worker="news") > 10
        assert metric(text, "lepton_redis_errors_total", worker="news", stage="process") > 0
        assert get(server.port, "/readyz")[0] == 503
        loop.request_stop(15)  # what SIGTERM's handler does
        thread.join(timeout=30)
        assert not thread.is_alive() and not errors
        c = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=f"{s.group_prefix}-news")
        assert all(c.committed(TopicPartition(s.topic_news_raw, p)) in (None, 0) for p in range(2))
        c.close()
    finally:
        server.close()
