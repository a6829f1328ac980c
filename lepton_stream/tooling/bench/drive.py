"""Run an in-process worker loop over a known number of records and time it (the bench's measuring tap).

The loop is the production WorkerLoop from runtime.build_loop; only its `handle`, `drain` and `settle` are wrapped, to
stamp the first batch and the last commit and to stop once every expected record went through (no idle wait
in the figure).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from prometheus_client import REGISTRY

from lepton_stream import metrics
from lepton_stream.pipeline.loop import WorkerLoop
from lepton_stream.pipeline.worker import Worker


@dataclass
class Drive:
    worker: Worker
    expect: int
    loop: WorkerLoop | None = None
    handled: int = 0
    batches: int = 0
    first: float | None = None  # perf_counter when the first batch came out of poll
    last: float | None = None  # ... when the last batch was settled (acknowledged and committed)
    in_handle_s: float = 0.0
    stages_before: dict[str, float] = field(default_factory=dict)
    hits_before: float = 0.0

    def start(self) -> WorkerLoop:
        from lepton_stream.runtime import build_loop

        loop = build_loop(self.worker)
        inner_handle, inner_drain, inner_settle = loop.handle, loop.drain, loop.settle

        inside = False  # settle() called from handle() or drain() is already in their time

        def timed(fn, *args) -> None:
            nonlocal inside
            t = time.perf_counter()
            inside = True
            try:
                fn(*args)
            finally:
                inside = False
            self.in_handle_s += time.perf_counter() - t

        def handle(records) -> None:
            if self.first is None:
                self.first = time.perf_counter()
            timed(inner_handle, records)
            self.handled += len(records)
            self.batches += 1
            if self.handled >= self.expect:
                loop.stopping = True  # the loop then closes, which finishes and settles what is in hand

        def drain() -> None:
            if loop.staged is not None or loop.in_flight is not None:
                timed(inner_drain)
            else:
                inner_drain()

        def settle() -> None:
            pending = loop.in_flight is not None
            t = time.perf_counter()
            inner_settle()
            if pending:
                self.last = time.perf_counter()
                if not inside:
                    self.in_handle_s += self.last - t

        loop.handle = handle  # type: ignore[method-assign]
        loop.drain = drain  # type: ignore[method-assign]
        loop.settle = settle  # type: ignore[method-assign]
        self.loop = loop
        self.stages_before = stage_seconds(self.worker.spec.kind)
        self.hits_before = _value(metrics.CACHE_HITS, self.worker.spec.kind)
        return loop

    def run(self, timeout_s: float = 300.0) -> None:
        """Run in this thread until `expect` records are handled (or nothing arrives for timeout_s)."""
        (self.loop or self.start()).run(idle_exit_s=timeout_s)

    def run_in_thread(self, timeout_s: float = 300.0) -> threading.Thread:
        loop = self.loop or self.start()
        th = threading.Thread(target=loop.run, kwargs={"idle_exit_s": timeout_s}, daemon=True)
        th.start()
        return th

    def wait_assigned(self, timeout_s: float = 60.0) -> None:
        assert self.loop is not None
        deadline = time.monotonic() + timeout_s
        while not self.loop.consumer.assignment():
            if time.monotonic() > deadline:
                raise TimeoutError("the worker was not assigned partitions in time")
            time.sleep(0.05)

    @property
    def seconds(self) -> float:
        return (self.last or 0.0) - (self.first or 0.0)

    @property
    def msgs_per_s(self) -> float:
        return round(self.handled / self.seconds, 1) if self.seconds > 0 else 0.0

    def report(self) -> dict:
        kind = self.worker.spec.kind
        after = stage_seconds(kind)
        stages = {k: after[k] - self.stages_before.get(k, 0.0) for k in after}
        stages = {k: v for k, v in stages.items() if v > 0}
        in_process = sum(stages.values())
        # Time in handle() and settle() outside the timed stages (the loop's own work, callbacks).
        stages["loop_other"] = max(0.0, self.in_handle_s - in_process)
        stages["poll_and_wait"] = max(0.0, self.seconds - self.in_handle_s)
        total = sum(stages.values()) or 1.0
        return {
            "messages": self.handled,
            "batches": self.batches,
            "seconds": round(self.seconds, 3),
            "msgs_per_s": self.msgs_per_s,
            "cache_hits": int(_value(metrics.CACHE_HITS, kind) - self.hits_before),
            "stage_share": {k: round(v / total, 3) for k, v in sorted(stages.items(), key=lambda kv: -kv[1])},
        }


def _value(counter, label: str) -> float:
    return REGISTRY.get_sample_value(f"{counter._name}_total", {"worker": label}) or 0.0


def stage_seconds(kind: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for fam in REGISTRY.collect():
        if fam.name != "lepton_stage_seconds":
            continue
        for s in fam.samples:
            if s.name.endswith("_sum") and s.labels.get("worker") == kind:
                out[s.labels["stage"]] = s.value
    return out
