"""Helpers for tests that go through the real broker."""

from __future__ import annotations

import json
import time
import uuid

from kafka import KafkaConsumer, TopicPartition

from lepton_stream.config import Settings, load_settings


def make_settings(bootstrap: str, redis_url: str, prefix: str, models_dir, **overrides) -> Settings:
    """Settings with unique topics, a private key prefix and fast group joins (tansu waits session/2)."""
    tag = uuid.uuid4().hex[:8]
    base = dict(
        kafka_bootstrap=bootstrap,
        redis_url=redis_url,
        redis_key_prefix=prefix,
        models_dir=models_dir,
        runtime="torch",
        topic_news_raw=f"news.raw.{tag}",
        topic_chat_raw=f"chat.raw.{tag}",
        topic_news_enriched=f"news.enriched.{tag}",
        topic_chat_routed=f"chat.routed.{tag}",
        topic_alerts=f"alerts.{tag}",
        group_prefix=f"g-{tag}",
        session_timeout_ms=4000,
        heartbeat_interval_ms=1000,
        max_wait_ms=100,
        threads=2,
    )
    base.update(overrides)
    return load_settings(**base)


def read_topic(bootstrap: str, topic: str, expect: int | None = None, timeout_s: float = 60.0,
               settle_s: float = 2.0) -> list:  # fmt: skip
    """Every record of a topic (all partitions, from the start). Stops at `expect` records, or when nothing
    new arrived for settle_s, or at the timeout."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=500)
    deadline = time.monotonic() + timeout_s
    parts = None
    while not parts and time.monotonic() < deadline:
        parts = consumer.partitions_for_topic(topic)
        if not parts:
            time.sleep(0.2)
    if not parts:
        consumer.close()
        return []
    tps = [TopicPartition(topic, p) for p in parts]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
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


def values(records) -> list[dict]:
    return [json.loads(r.value) for r in records]
