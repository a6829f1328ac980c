"""Per-stage timings of one batch: into the stage histogram and the batch's log line."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from lepton_stream import metrics


class StageTimer:
    def __init__(self, worker: str):
        self.worker = worker
        self.ms: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            metrics.STAGE_SECONDS.labels(self.worker, stage).observe(elapsed)
            self.ms[stage] = round(self.ms.get(stage, 0.0) + elapsed * 1000, 2)
