"""A worker kind as declared to the registry: the engine's WorkerSpec (contract, input topic, stages) plus what
the runtime, the CLI and the tools need to know about it (output topics, partitions, key, model, synth)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lepton_stream.config import Settings
from lepton_stream.kafka.cloudevents import EventType
from lepton_stream.pipeline.worker import WorkerSpec


@dataclass(frozen=True)
class Message:
    """A message as documented: its payload (a contract's schema file, or an inline schema) and its key."""

    id: str
    title: str
    key: str  # what the Kafka key holds
    schema: str | None = None  # CONTRACTS name: payload is schemas/<schema>.schema.json
    event: EventType | None = None  # the CloudEvents headers it carries (outputs); None: whatever the producer sets
    model_version: bool = False  # also a `model_version` header


@dataclass(frozen=True)
class KindDocs:
    """How a worker kind's own topics are documented (workers.kind.Kind.docs): its input and output messages,
    what each topic carries, and who feeds its input (an operation name, a tag and a summary)."""

    input: Message
    input_description: str
    output: Message
    output_description: str
    feed: tuple[str, str, str]


def _partitions(s: Settings) -> int:
    return s.topic_partitions


@dataclass(frozen=True, kw_only=True)
class Kind(WorkerSpec):
    """One worker kind. `kind`, `contract`, `input_topic` and the stages are the engine's (WorkerSpec)."""

    # The topics the kind writes besides its input's DLQ, own output first (alerts where it detects).
    output_topics: Callable[[Settings], tuple[str, ...]]
    # The input message's field that keys a record when `produce` replays a file (a conversation's messages
    # share a partition, so they keep their order).
    key: str
    # Model tasks -> the shipped `text,label` sample a quick bundle's head is fitted on. A kind with tasks
    # serves the bundle at LEPTON_MODELS_DIR/<kind>.
    tasks: dict[str, Path] = field(default_factory=dict)
    # A kind that needs no bundle (rules, a remote model) builds its model here: an object with `version` and
    # `predict(texts) -> [{task: Prediction}]`.
    model: Callable[[Settings], Any] | None = None
    # Partitions of the kind's input and output topics when created at start.
    partitions: Callable[[Settings], int] = _partitions
    # "module:function" making a synthetic stream (n, seed, malformed, incident) for generate/demo/bench;
    # a string, so a worker's imports never include the replay tooling.
    synth: str | None = None
    # The alert kinds this kind raises -> the window label their series counts (the console's incident chart).
    alerts: dict[str, str] = field(default_factory=dict)
    # How the AsyncAPI document (`schemas export`, lepton_stream/asyncapi.py) describes the kind's input and output
    # topics; a kind without it makes the export fail, rather than publish topics nobody described.
    docs: KindDocs | None = None
    # "module:function" printing the kind's section of `lepton-stream demo` from its output records.
    demo: str | None = None
    # The input contract's field holding the text (bench's stream edits it).
    text_field: str = "text"
    # The output contract's field with the masked text the model classified, and for each task the output
    # field holding its prediction: where `models feedback` finds what a correction corrects.
    output_text: str = "text"
    predictions: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.kind

    def stream(self, **kwargs: Any) -> list:
        """The kind's synthetic stream (tooling.replay.synth.Record list)."""
        if self.synth is None:
            raise ValueError(f"the {self.kind} kind has no synthetic stream")
        module, func = self.synth.split(":")
        return getattr(importlib.import_module(module), func)(**kwargs)
