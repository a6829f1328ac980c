"""The naive worker a user writes first: one message at a time, a transformers pipeline in fp32, no cache,
produce + flush + commit per message. It is the baseline the pipeline's speed-up is measured against.

The model is the same bundle's weights through `transformers.pipeline` (feature extraction, mean pooling,
the bundle's head: the bundle's own architecture, so its labels are right); a text-classification pipeline
costs the same forward pass per text.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer

from lepton_stream.config import Settings
from lepton_stream.kafka.backend import client_kwargs
from lepton_stream.models import bundle
from lepton_stream.tooling.training.bench import naive_pipeline


def run_naive(s: Settings, root: Path, topic_in: str, topic_out: str, group: str, n: int, text_field: str,
              threads: int, timeout_s: float = 300.0) -> dict:  # fmt: skip
    import torch

    torch.set_num_threads(threads)
    manifest = bundle.verify(root)
    task = next(iter(manifest.tasks))
    labels = manifest.tasks[task].labels
    classify = naive_pipeline(root, manifest, task, threads)
    classify(["warm up"])
    consumer = KafkaConsumer(**client_kwargs(s), group_id=group, enable_auto_commit=False,
                             auto_offset_reset="earliest", session_timeout_ms=s.session_timeout_ms,
                             heartbeat_interval_ms=s.heartbeat_interval_ms)  # fmt: skip
    producer = KafkaProducer(**client_kwargs(s), acks="all")
    consumer.subscribe([topic_in])
    done, first = 0, None
    deadline = time.monotonic() + timeout_s
    try:
        while done < n and time.monotonic() < deadline:
            for recs in consumer.poll(timeout_ms=500, max_records=1).values():
                for r in recs:
                    first = first or time.perf_counter()
                    msg = json.loads(r.value)
                    label = labels[classify([msg[text_field]])[0]]
                    out = {"id": msg["id"], "label": label, "model_version": manifest.version}
                    producer.send(topic_out, key=r.key, value=json.dumps(out).encode())
                    producer.flush()
                    consumer.commit()
                    done += 1
        seconds = time.perf_counter() - (first or time.perf_counter())
    finally:
        consumer.close()
        producer.close()
    return {"messages": done, "seconds": round(seconds, 3), "msgs_per_s": round(done / seconds, 1) if seconds else 0.0}
