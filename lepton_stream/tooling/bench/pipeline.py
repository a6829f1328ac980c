"""The pipeline half of `lepton-stream bench`: one generated stream, one run, the real broker and Redis.

Phases, each on its own topics, consumer group and key prefix (nothing of one run leaks into another):
1. model_only  bare batched int8 `predict` over the stream's texts, in micro-batches of max_records, run
               just before and just after phase 2 (its figure: both together). Beside it, in the details,
               `model_only_streamed`: the same batches with the next one's passes queued before the current
               one is collected, as the worker does, so no thread idles at a batch boundary; the pipeline
               over that figure is what the worker's own work costs;
2. pipeline    one in-process worker (runtime.build_worker/build_loop), the whole pipeline, empty cache;
3. cache_hit   the same texts again (new ids, fresh state keys) with the cache of phase 2: every text hits;
4. naive       the naive worker (bench/naive.py) over phase 2's input;
5. latency     a fresh stream produced at half the measured pipeline rate while the worker runs;
               end-to-end = output record timestamp - input record timestamp (both stamped at send).
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lepton_stream.config import Settings, load_settings
from lepton_stream.kafka.backend import ensure_topics, make_producer, read_topic
from lepton_stream.tooling.bench.drive import Drive
from lepton_stream.tooling.bench.naive import run_naive
from lepton_stream.tooling.bench.services import delete_prefix, reachable_stack
from lepton_stream.tooling.bench.stream import renamed, texts_of, unique_stream
from lepton_stream.tooling.replay.producer import produce


@dataclass
class BenchConfig:
    kind: str = "news"
    n: int = 6000  # messages per throughput phase (long enough that one hiccup does not decide the figure)
    naive_n: int = 300
    latency_n: int = 3000
    model: Path | None = None


def phase_settings(base: Settings, stack: dict[str, str], run_id: str, phase: str) -> Settings:
    d = base.model_dump()
    for name in ("news_raw", "chat_raw", "news_enriched", "chat_routed", "alerts"):
        d[f"topic_{name}"] = f"bench-{run_id}-{phase}.{getattr(base, f'topic_{name}')}"
    d.update(kafka_bootstrap=stack["bootstrap"], redis_url=stack["redis_url"], create_topics=True,
             redis_key_prefix=f"{base.redis_key_prefix}bench:{run_id}:{phase}:", group_prefix=f"bench-{run_id}-{phase}",
             session_timeout_ms=6000, heartbeat_interval_ms=1500)  # fmt: skip
    return load_settings(**d)


def _input_topic(s: Settings, kind: str) -> str:
    import workers

    return workers.get(kind).input_topic(s)


def _text_field(kind: str) -> str:
    import workers

    return workers.get(kind).text_field


def _output_topic(s: Settings, kind: str) -> str:
    import workers

    return workers.get(kind).output_topics(s)[0]


def _produce_all(s: Settings, topic: str, records) -> None:
    ensure_topics(s, {topic: 4})
    producer = make_producer(s)
    try:
        produce(producer, topic, records)
    finally:
        producer.close()


def run_pipeline_bench(base: Settings, cfg: BenchConfig) -> dict:
    from lepton_stream.models.serving import load_model, set_threads
    from lepton_stream.pipeline.cache import PredictionCache
    from lepton_stream.runtime import build_worker
    from lepton_stream.tooling.training.quick import ensure_bundles

    kind = cfg.kind
    root = cfg.model or ensure_bundles(base.models_dir, (kind,))[kind]
    set_threads(base.threads)
    model = load_model(root, base.runtime, base.infer_batch_size)
    records = unique_stream(kind, cfg.n)
    texts = texts_of(kind, records)
    run_id = uuid.uuid4().hex[:6]
    workdir = Path(tempfile.mkdtemp(prefix="lepton-bench-"))
    with reachable_stack(base, workdir) as stack:
        settings = {p: phase_settings(base, stack, run_id, p) for p in ("pipeline", "cache", "latency")}
        try:
            out: dict = {"kind": kind, "messages_per_phase": cfg.n, "runtime": base.runtime,
                         "model_version": model.version, "max_records": base.max_records,
                         "max_wait_ms": base.max_wait_ms, "broker": stack["broker"],
                         "redis": stack["redis"]}  # fmt: skip
            s = settings["pipeline"]
            _produce_all(s, _input_topic(s, kind), records)
            # Model only just before and just after the pipeline phase, taken together: the VM's speed drifts
            # 10-30 % over minutes, and the ratio should compare the two at the same moment.
            # (plain, streamed) before and (streamed, plain) after: a steady drift weighs on both alike.
            before = _model_only(model, texts, base.max_records)
            before_streamed = _model_only(model, texts, base.max_records, streamed=True)
            d = Drive(build_worker(kind, s, model=model), cfg.n)
            d.run()
            out["pipeline"] = d.report()
            after_streamed = _model_only(model, texts, base.max_records, streamed=True)
            out["model_only"] = _bracket(before, _model_only(model, texts, base.max_records))
            out["model_only_streamed"] = _bracket(before_streamed, after_streamed)

            # Same texts under new ids, state under a fresh prefix, cache shared with the pipeline phase.
            c = settings["cache"]
            _produce_all(c, _input_topic(c, kind), renamed(records, "again"))
            w = build_worker(kind, c, model=model)
            w.cache = PredictionCache(w.redis, s.redis_key_prefix, s.cache_ttl_s, kind)
            d = Drive(w, cfg.n)
            d.run()
            out["cache_hit"] = d.report()

            out["naive"] = run_naive(s, root, _input_topic(s, kind), f"bench-{run_id}-naive.out",
                                     f"bench-{run_id}-naive", cfg.naive_n, _text_field(kind),
                                     base.threads or 2)  # fmt: skip
            rate = out["pipeline"]["msgs_per_s"] / 2
            out["latency"] = _latency(settings["latency"], kind, model, cfg.latency_n, rate)
        finally:
            for p in settings.values():
                delete_prefix(stack["redis_url"], p.redis_key_prefix)
    return summarise(out)


def _model_only(model, texts: list[str], batch: int, streamed: bool = False) -> dict:
    model.predict(texts[:batch])  # warm-up (first call allocates)
    submit = getattr(model, "submit", None) if streamed else None
    t = time.perf_counter()
    if submit is None:
        for i in range(0, len(texts), batch):
            model.predict(texts[i : i + batch])
    else:
        pending = None
        for i in range(0, len(texts), batch):
            queued = submit(texts[i : i + batch])
            if pending is not None:
                pending.result()
            pending = queued
        if pending is not None:
            pending.result()
    seconds = time.perf_counter() - t
    return {"messages": len(texts), "seconds": round(seconds, 3), "msgs_per_s": round(len(texts) / seconds, 1)}


def _bracket(before: dict, after: dict) -> dict:
    """The two model-only phases as one figure: all their messages over the time the two reported rates imply.
    That weighted harmonic mean always lies between the two rates; their seconds, rounded to the millisecond,
    could move it past both on a phase of a few hundred ms."""
    phases = (before, after)
    messages = sum(ph["messages"] for ph in phases)
    implied = sum(ph["messages"] / ph["msgs_per_s"] for ph in phases if ph["msgs_per_s"])
    return {"messages": messages, "seconds": round(sum(ph["seconds"] for ph in phases), 3),
            "msgs_per_s": round(messages / implied, 1) if implied else 0.0,
            "before_pipeline_msgs_per_s": before["msgs_per_s"], "after_pipeline_msgs_per_s": after["msgs_per_s"]}


def _latency(s: Settings, kind: str, model, n: int, rate: float) -> dict:
    from lepton_stream.runtime import build_worker

    records = unique_stream(kind, n, seed=23)
    topic = _input_topic(s, kind)
    ensure_topics(s, {topic: 4})
    d = Drive(build_worker(kind, s, model=model), n)
    thread = d.run_in_thread()
    d.wait_assigned()
    time.sleep(0.5)  # let the first fetch requests go out: the figure is steady-state latency
    producer = make_producer(s)
    sent: dict = {}
    producer_thread = threading.Thread(target=lambda: sent.update(produce(producer, topic, records, rate=rate)))
    producer_thread.start()
    producer_thread.join()
    producer.close()
    thread.join(timeout=120)
    sent_at = {json.loads(r.value)["id"]: r.timestamp for r in read_topic(s, topic, expect=n)}
    outs = read_topic(s, _output_topic(s, kind), expect=n)
    lat = np.array([o.timestamp - sent_at[json.loads(o.value)["id"]] for o in outs], dtype=float)
    if not len(lat):
        return {"rate_msgs_per_s": round(rate, 1), "messages": 0}
    return {
        "rate_msgs_per_s": round(rate, 1),
        "achieved_send_rate": sent.get("msgs_per_s"),
        "messages": int(len(lat)),
        "p50_ms": round(float(np.percentile(lat, 50)), 1),
        "p90_ms": round(float(np.percentile(lat, 90)), 1),
        "p99_ms": round(float(np.percentile(lat, 99)), 1),
        "max_ms": round(float(lat.max()), 1),
        "mean_batch": round(d.handled / max(1, d.batches), 1),
    }


def summarise(out: dict) -> dict:
    """Headline figures and ratios on top of the per-phase details."""
    p = out["pipeline"]["msgs_per_s"]
    m, naive = out["model_only"]["msgs_per_s"], out["naive"]["msgs_per_s"]
    streamed = out.get("model_only_streamed", {}).get("msgs_per_s")
    head = {
        "model_only_msgs_per_s": m,
        "pipeline_msgs_per_s": p,
        "cache_hit_msgs_per_s": out["cache_hit"]["msgs_per_s"],
        "naive_msgs_per_s": naive,
        "p50_ms": out["latency"].get("p50_ms"),
        "p99_ms": out["latency"].get("p99_ms"),
        "pipeline_over_model_only": round(p / m, 3) if m else None,
        "pipeline_over_streamed_model": round(p / streamed, 3) if streamed else None,
        "pipeline_over_naive": round(p / naive, 1) if naive else None,
    }
    over_m, over_n = head["pipeline_over_model_only"] or 0, head["pipeline_over_naive"] or 0
    head["targets_met"] = {
        "pipeline_ge_0.95_model_only": over_m >= 0.95,
        "pipeline_ge_5x_naive": over_n >= 5,
        "p99_le_300ms_half_load": bool(head["p99_ms"] is not None and head["p99_ms"] <= 300),
        "cache_hit_ge_5000": head["cache_hit_msgs_per_s"] >= 5000,
    }
    return {**head, "details": out}


def print_table(result: dict, file=sys.stderr) -> None:
    rows = [
        ("model only (int8, batched)", f"{result['model_only_msgs_per_s']:.0f} msg/s"),
        ("pipeline (1 worker, no cache hits)", f"{result['pipeline_msgs_per_s']:.0f} msg/s"),
        ("pipeline, every text cached", f"{result['cache_hit_msgs_per_s']:.0f} msg/s"),
        ("naive worker (fp32, 1 msg at a time)", f"{result['naive_msgs_per_s']:.0f} msg/s"),
        ("latency at half load p50 / p99", f"{result['p50_ms']} / {result['p99_ms']} ms"),
        ("pipeline / model only", f"{result['pipeline_over_model_only']}"),
        ("pipeline / model only, streamed", f"{result['pipeline_over_streamed_model']}"),
        ("pipeline / naive", f"{result['pipeline_over_naive']}x"),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}", file=file)
