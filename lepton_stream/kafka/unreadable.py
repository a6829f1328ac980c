"""Which partition's fetched data a failed poll could not read, so the worker can step past it.

kafka-python raises from `poll()` when it cannot unpack a fetched record batch: a compression codec whose
library is missing, a batch that fails its CRC, a decompressor error. The consumer's position stays on
that batch, so every later poll raises again; worse, kafka-python 3.0 keeps the broken partition data as
next in line, and the next `poll()` spins on it without returning. The exception names no partition.

The fetcher knows it: the partition data it was reading when it raised. This module is the one place that
reads that private state (kafka-python is pinned; the hostile-input tests run through a real broker and
fail if an upgrade moves it). The loop then dead-letters the record at the consumer's position for that
partition and seeks one past it: the batch's next record fails the same way and is skipped the same way,
until the partition reads again. Other partitions keep moving.
"""

from __future__ import annotations

from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import AuthorizationError, KafkaConfigurationError, SaslAuthenticationFailedError


@dataclass(frozen=True, slots=True)
class Unreadable:
    tp: TopicPartition
    offset: int  # the consumer's position: the first record it could not read


# Errors no partition's data causes: the worker must not step past records because of them.
NOT_DATA_ERRORS = (AuthorizationError, SaslAuthenticationFailedError, KafkaConfigurationError)


def locate(consumer: KafkaConsumer) -> Unreadable | None:
    """The partition and offset a poll that just raised was reading, or None if not a partition's data."""
    fetcher = getattr(consumer, "_fetcher", None)
    part = getattr(fetcher, "_next_partition_records", None)
    tp = getattr(part, "topic_partition", None)
    if tp is None or tp not in consumer.assignment():
        return None
    return Unreadable(tp, consumer.position(tp))


def step_past(consumer: KafkaConsumer, where: Unreadable) -> None:
    """Move the position one record on; the broken partition data is dropped by the next poll (its offset no
    longer matches the position)."""
    consumer.seek(where.tp, where.offset + 1)
