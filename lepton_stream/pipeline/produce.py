"""Produce a batch's outputs and wait until the broker has acknowledged every one (acks=all)."""

from __future__ import annotations

from kafka import KafkaProducer

from lepton_stream.pipeline.batch import Output


class PublishError(RuntimeError):
    pass


class Sink:
    def __init__(self, producer: KafkaProducer, flush_timeout_s: float = 30.0):
        self.producer = producer
        self.flush_timeout_s = flush_timeout_s

    def publish(self, outputs: list[Output]) -> None:
        """Send all, flush, and raise if any record was not acknowledged (the caller retries the batch)."""
        futures = [
            self.producer.send(o.topic, key=o.key, value=o.value, headers=list(o.headers) or None) for o in outputs
        ]
        self.producer.flush(timeout=self.flush_timeout_s)
        failed = [f for f in futures if not f.is_done or f.failed()]
        if failed:
            first = failed[0].exception if failed[0].is_done else "not acknowledged before the flush timeout"
            raise PublishError(f"{len(failed)}/{len(futures)} records not acknowledged: {first}")
