"""Assemble a running worker from settings: model, Redis, graph, state, Kafka clients and the loop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import redis

from lepton_stream import logs
from lepton_stream.config import Settings
from lepton_stream.kafka import backend
from lepton_stream.models import bundle
from lepton_stream.pipeline.loop import WorkerLoop
from lepton_stream.pipeline.produce import Sink
from lepton_stream.pipeline.worker import Worker

log = logs.get(__name__)


def redis_client(settings: Settings) -> redis.Redis:
    return redis.Redis.from_url(
        settings.redis_url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=15
    )


def model_root(settings: Settings, kind: str) -> Path:
    root = settings.models_dir / kind
    if not (root / bundle.MANIFEST).is_file():
        raise bundle.BundleError(
            f"no model bundle at {root}: train one (`lepton-stream train ...`), promote one "
            f"(`lepton-stream models promote`), or run `lepton-stream demo`, which builds quick bundles"
        )
    return root


def load_model(settings: Settings, kind: str) -> Any:
    from lepton_stream.models.serving import load_model as load
    from lepton_stream.models.serving import set_threads

    set_threads(settings.threads)
    return load(model_root(settings, kind), settings.runtime, settings.infer_batch_size)


def build_worker(kind: str, settings: Settings, model: Any = None, client: redis.Redis | None = None) -> Worker:
    from workers import SPECS

    spec = SPECS[kind]
    client = client if client is not None else redis_client(settings)
    resources: dict[str, Any] = {}
    return Worker(spec, settings, model if model is not None else load_model(settings, kind), client, resources)


def input_partitions(settings: Settings) -> dict[str, int]:
    return {settings.topic_news_raw: 4, settings.topic_chat_raw: 4}


def build_loop(worker: Worker, group_id: str | None = None) -> WorkerLoop:
    s = worker.settings
    consumer = backend.make_consumer(s, [worker.input_topic], group_id or f"{s.group_prefix}-{worker.spec.kind}")
    return WorkerLoop(worker, consumer, Sink(backend.make_producer(s)))
