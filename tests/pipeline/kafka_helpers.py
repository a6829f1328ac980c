"""Helpers for tests that go through the real broker."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from lepton_stream.config import Settings, load_settings
from lepton_stream.kafka import backend
from lepton_stream.tooling.dev.broker import Tansu
from lepton_stream.tooling.dev.kafka import ApacheKafka
from lepton_stream.tooling.dev.ports import free_port


def start_broker(kind: str, workdir: Path) -> Tansu | ApacheKafka:
    """A private broker of the selected kind on a free port: in-memory tansu, or a one-node Apache Kafka."""
    if kind == "kafka":
        kafka = ApacheKafka(port=free_port(), workdir=workdir / "kafka")
        kafka.start()
        return kafka
    tansu = Tansu(port=free_port(), log_path=workdir / "tansu.log")
    tansu.start()
    return tansu


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


def read_topic(bootstrap: str, topic: str, **kw) -> list:
    return backend.read_topic(load_settings(kafka_bootstrap=bootstrap), topic, **kw)


def values(records) -> list[dict]:
    return [json.loads(r.value) for r in records]
