"""Produce a batch's outputs and know when the broker has acknowledged every one (acks=all).

`send` hands the records to the producer's I/O thread and returns at once; `wait` blocks until they are all
acknowledged. The loop sends one batch and processes the next before waiting, so the broker round trip
overlaps useful work instead of idling the worker.
"""

from __future__ import annotations

from kafka import KafkaProducer
from kafka.producer.future import FutureRecordMetadata

from lepton_stream.pipeline.batch import Output


class PublishError(RuntimeError):
    pass


class Sink:
    def __init__(self, producer: KafkaProducer, flush_timeout_s: float = 30.0):
        self.producer = producer
        self.flush_timeout_s = flush_timeout_s

    def send(self, outputs: list[Output]) -> list[FutureRecordMetadata]:
        return [
            self.producer.send(o.topic, key=o.key, value=o.value, headers=list(o.headers) or None) for o in outputs
        ]

    def wait(self, futures: list[FutureRecordMetadata]) -> None:
        """Return once every record is acknowledged; raise if any failed (the caller sends the batch again)."""
        if not all(f.is_done for f in futures):
            self.producer.flush(timeout=self.flush_timeout_s)
        failed = [f for f in futures if not f.is_done or f.failed()]
        if failed:
            first = failed[0].exception if failed[0].is_done else "not acknowledged before the flush timeout"
            raise PublishError(f"{len(failed)}/{len(futures)} records not acknowledged: {first}")
