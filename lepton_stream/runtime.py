"""Assemble a running worker from settings: model, Redis, graph, state, Kafka clients and the loop."""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path
from typing import Any

import redis

from lepton_stream import logs
from lepton_stream.config import Settings
from lepton_stream.kafka import backend, cloudevents
from lepton_stream.models import bundle
from lepton_stream.ops.health import Health, redis_pinger, stall_limit_s
from lepton_stream.ops.kafka_security import redis_client
from lepton_stream.ops.redis_checks import check_redis_eviction
from lepton_stream.pipeline.loop import WorkerLoop
from lepton_stream.pipeline.masking import Masker
from lepton_stream.pipeline.produce import Sink
from lepton_stream.pipeline.worker import Worker

log = logs.get(__name__)


def model_root(settings: Settings, kind: str) -> Path:
    root = settings.models_dir / kind
    if not (root / bundle.MANIFEST).is_file():
        raise bundle.BundleError(
            f"no model bundle at {root}: train one (`lepton-stream train ...`), promote one "
            f"(`lepton-stream models promote`), or run `lepton-stream demo`, which builds quick bundles"
        )
    return root


def load_model(settings: Settings, kind: str) -> Any:
    """The kind's model: its own (a kind without a bundle), or its bundle behind a holder that hot-reloads it
    when a new bundle is promoted."""
    import workers

    own = workers.get(kind).model
    if own is not None:
        return own(settings)
    from lepton_stream.models.reload import ModelHolder

    if settings.runtime == "torch":  # the onnx runtime sizes its own threads and must not import torch
        from lepton_stream.models.torch_serving import set_threads

        set_threads(settings.threads)
    return ModelHolder(model_root(settings, kind), settings.runtime, settings.infer_batch_size, worker=kind)


def build_worker(kind: str, settings: Settings, model: Any = None, client: redis.Redis | None = None) -> Worker:
    import workers

    spec = workers.get(kind)
    client = client if client is not None else redis_client(settings)
    model = model if model is not None else load_model(settings, kind)
    worker = Worker(spec, settings, model, client, masker=Masker(settings.national_id_patterns, max_len=spec.max_text))
    if settings.masking == "strict":  # person names known to the graph are masked too, and follow its reloads
        # a kind without a graph masks only patterns
        worker.masker = Masker(settings.national_id_patterns, max_len=spec.max_text, graph=worker.back_half.names)
    return worker


def input_partitions(settings: Settings) -> dict[str, int]:
    """Every registered kind's input topic and its partitions."""
    import workers

    return {k.input_topic(settings): k.partitions(settings) for k in workers.kinds()}


def kind_outputs(settings: Settings, kind: str) -> list[str]:
    """The topics a worker kind writes to: its own output, alerts, its input's DLQ (the AsyncAPI document's too)."""
    import workers

    k = workers.get(kind)
    return [*k.output_topics(settings), settings.dlq_topic(k.input_topic(settings))]


def partitions(settings: Settings, kind: str) -> int:
    import workers

    return workers.get(kind).partitions(settings)


def kind_layout(settings: Settings, kind: str) -> dict[str, int]:
    """The topics a worker kind writes to, with the partitions it creates them with."""
    return dict.fromkeys(kind_outputs(settings, kind), partitions(settings, kind))


def build_loop(worker: Worker, group_id: str | None = None, health: Health | None = None) -> WorkerLoop:
    s = worker.settings
    outputs = kind_layout(s, worker.spec.kind)
    if s.create_topics:
        created = backend.ensure_topics(s, {worker.input_topic: partitions(s, worker.spec.kind), **outputs})
        if created is not None and created.replication_factor < 3:
            log.warning("topics_under_replicated", replication_factor=created.replication_factor,
                        hint="fine for development; production wants 3 brokers or more")  # fmt: skip
    backend.check_writable(s, list(outputs))
    check_redis_eviction(worker.redis, worker.spec.kind)
    group = group_id or f"{s.group_prefix}-{worker.spec.kind}"
    make_consumer = functools.partial(backend.make_consumer, s, [worker.input_topic], group)
    sink = Sink(backend.make_producer(s))
    # Between batches: pick up a promoted model bundle or an edited graph file without a restart.
    reloadable = [worker.model, *worker.back_half.reloadable]
    housekeeping = [audited(r, worker, sink) for r in reloadable if hasattr(r, "maybe_reload")]
    # Every poll, retries included: the pod's outbox lease, so no other pod re-publishes its alerts while it lives.
    heartbeats = list(worker.back_half.heartbeats)
    return WorkerLoop(worker, make_consumer, sink, health=health, housekeeping=housekeeping, heartbeats=heartbeats)


def audited(holder: Any, worker: Worker, sink: Sink):
    """holder.maybe_reload, plus an audit event (topic and log) whenever the served version changes."""
    what = "model" if hasattr(holder, "predict") else "graph"

    def check() -> None:
        before = holder.version if what == "model" else holder.graph.version
        if holder.maybe_reload():
            after = holder.version if what == "model" else holder.graph.version
            event = {"event": f"{what}_reloaded", "worker": worker.id, "kind": worker.spec.kind,
                     "from_version": before, "to_version": after, "at": time.time()}  # fmt: skip
            log.info("audit", **event)
            value = json.dumps(event).encode()
            sink.producer.send(worker.settings.topic_audit, key=worker.spec.kind.encode(), value=value,
                               headers=list(cloudevents.audit(worker.spec.kind, event)))  # fmt: skip

    return check


def health_for(worker: Worker) -> Health:
    s = worker.settings
    h = Health(stall_limit_s(s.max_poll_interval_ms), redis_pinger(worker.redis), worker=worker.spec.kind,
               stuck_batch_s=s.stuck_batch_s)  # fmt: skip
    h.set_model_loaded(worker.model.version)
    return h
