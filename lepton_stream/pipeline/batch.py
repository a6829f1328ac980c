"""What flows through a micro-batch: raw records in, items through the stages, outputs out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lepton_stream.contracts import Contract
from lepton_stream.models.base import TaskPredictions


@dataclass(frozen=True, slots=True)
class RawRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int = 0
    error: str | None = None  # the consumer could not read this record (codec, corrupt batch): dead-lettered


@dataclass(slots=True)
class Item:
    """One valid input and everything the stages attach to it."""

    record: RawRecord
    message: Any  # the input contract instance (NewsItem or ChatMessage)
    text: str = ""  # masked text: the only text that reaches caches, logs and outputs
    preds: TaskPredictions = field(default_factory=dict)
    # What the kind's back-half stages attach (news: entities, impacted; chat: customer, route), of the type
    # the kind declares (WorkerSpec.facts).
    facts: Any = None
    # The clear values of ids that held an email and were replaced by their keyed hash (pipeline/worker.py),
    # kept in memory only, for lookups such as the graph's customer.
    clear_ids: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Output:
    topic: str
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()
    source: RawRecord | None = None  # the input record it answers (dead-lettered if the output cannot be sent)

    @classmethod
    def of(cls, topic: str, key: str | bytes | None, message: Contract,
           event: tuple[tuple[str, bytes], ...] = (), **headers: str) -> Output:  # fmt: skip
        """The record of one contract message: `event` is its CloudEvents headers (kafka/cloudevents.py),
        `headers` any others, as text."""
        k = key.encode() if isinstance(key, str) else key
        # The serializer's bytes as they are: model_dump_json() decodes them to str, which we would re-encode.
        value = message.__pydantic_serializer__.to_json(message)
        return cls(topic, k, value, (*event, *((h, v.encode()) for h, v in headers.items())))
