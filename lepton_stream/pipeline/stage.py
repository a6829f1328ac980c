"""The back half of a batch as an ordered list of stages: each a small object with one job and one timer.

The front half (decode → mask → cache → inference) is the engine's own and the same for every kind
(pipeline/worker.py). The back half is the kind's: `WorkerSpec.stages` builds it once per worker as a
`BackHalf`, e.g. news: graph → state → detect → render. The engine runs the stages in order, each under a timer
named for it (lepton_stage_seconds{stage}), and publishes what they return only after the last one: a stage
that raises fails the whole batch, which the loop retries, so no stage's output is ever sent without the
others' effects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from lepton_stream.pipeline.batch import Item, Output
from lepton_stream.pipeline.timing import StageTimer


@dataclass(frozen=True, slots=True)
class BatchContext:
    """What a stage knows of its batch beyond the items."""

    kind: str
    version: str  # the model version that served the batch: its outputs and alerts carry it
    # "<topic>:<partition>" -> "behind" | "idle" | "unknown" when the batch was polled: event time (the
    # watermark) advances with the partitions that still have data to deliver.
    partitions: dict[str, str]
    # run a callback once the batch's outputs are acknowledged by the broker (e.g. confirm outbox entries)
    after_flush: Callable[[Callable[[], None]], None]


class Stage(Protocol):
    name: str  # its timer and its line in the batch log

    def run(self, items: list[Item], batch: BatchContext) -> list[Output]:
        """Attach what this stage knows to the items (their `facts`) and return any records to publish."""
        ...


class Render:
    """The last stage of a kind: each item's own output record, answering its input record (so an output the
    broker can never take is dead-lettered as that record)."""

    name = "render"

    def run(self, items: list[Item], batch: BatchContext) -> list[Output]:
        return [replace(self.render(it, batch), source=it.record) for it in items]

    def render(self, it: Item, batch: BatchContext) -> Output:
        raise NotImplementedError


@dataclass
class BackHalf:
    """A kind's back half, built once per worker, and what the loop looks after between batches."""

    stages: list[Stage]
    # holders with maybe_reload() (a graph file edited in place), checked between batches
    reloadable: list[Any] = field(default_factory=list)
    # called every poll, retries included (the pod's outbox lease)
    heartbeats: list[Callable[[], None]] = field(default_factory=list)
    # a graph holder whose person names strict masking also masks (LEPTON_MASKING=strict); None: patterns only
    names: Any = None

    def __iter__(self) -> Iterator[Stage]:
        return iter(self.stages)

    def stage(self, name: str) -> Stage:
        for s in self.stages:
            if s.name == name:
                return s
        raise KeyError(f"no stage {name!r}; stages: {', '.join(s.name for s in self.stages)}")

    def run(self, items: list[Item], batch: BatchContext, t: StageTimer) -> list[Output]:
        """Every stage in order, each timed; their records in stage order."""
        outputs: list[Output] = []
        for s in self.stages:
            with t(s.name):
                outputs += s.run(items, batch)
        return outputs
