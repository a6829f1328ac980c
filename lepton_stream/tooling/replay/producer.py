"""Publish records to a topic, optionally at a fixed rate, and wait until the broker has them all."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path

from kafka import KafkaProducer

from lepton_stream.tooling.replay.synth import Record


def read_jsonl(path: Path, kind: str) -> list[Record]:
    """Each line is one raw record; the key is taken from the JSON (the kind's key field) when the line parses."""
    import workers

    field = workers.get(kind).key
    records = []
    with path.open("rb") as f:
        for line in f:
            raw = line.rstrip(b"\n")
            if not raw:
                continue
            try:
                data = json.loads(raw)
                key = str(data.get(field, "")).encode() or None if isinstance(data, dict) else None
                rid = data.get("id") if isinstance(data, dict) else None
            except ValueError:
                key, rid = None, None
            records.append(Record(key, raw, rid if isinstance(rid, str) else None))
    return records


def produce(producer: KafkaProducer, topic: str, records: Iterable[Record], rate: float | None = None) -> dict:
    """Send every record (stamped with the send time, for end-to-end latency), flush, and report."""
    sent = 0
    start = time.perf_counter()
    futures = []
    for r in records:
        if rate:
            # Pace against the schedule, not the previous send, so the average rate is exact.
            delay = start + sent / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        futures.append(producer.send(topic, key=r.key, value=r.value, timestamp_ms=int(time.time() * 1000)))
        sent += 1
    producer.flush()
    failed = sum(1 for f in futures if f.failed())
    elapsed = time.perf_counter() - start
    return {"topic": topic, "sent": sent, "failed": failed, "seconds": round(elapsed, 3),
            "msgs_per_s": round(sent / elapsed, 1) if elapsed else None}  # fmt: skip
