"""NAB-style evaluation of detectors on the labelled synthetic corpus, and the robust z-score baseline."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from statistics import median
from typing import Any, Protocol

from lepton_stream.tooling.detect_eval import nab
from lepton_stream.tooling.detect_eval.synth import Series


class Detector(Protocol):
    def update(self, ts: float, value: float) -> float: ...


class RobustZBaseline:
    """Rolling median/MAD z-score over the last `window` points; alerts at |z| >= 5."""

    def __init__(self, window: int = 288, threshold: float = 5.0) -> None:
        self.window, self.threshold = window, threshold
        self.buf: deque[float] = deque(maxlen=window)

    def update(self, ts: float, value: float) -> float:
        score = 0.0
        if len(self.buf) >= 10:
            med = median(self.buf)
            mad = median(abs(v - med) for v in self.buf)
            z = 0.6745 * (value - med) / max(mad, 0.5)  # half a count: a run of equal counts has MAD 0
            score = min(1.0, abs(z) / (2 * self.threshold))
        self.buf.append(value)
        return score


def run_series(det: Detector, series: Series) -> list[float]:
    return [det.update(t, v) for t, v in zip(series.timestamps, series.values, strict=True)]


def evaluate(factory: Callable[[], Detector], corpus: Sequence[Series]) -> dict[str, Any]:
    results = []
    for s in corpus:
        scores = run_series(factory(), s)
        results.append(nab.score_series(scores, nab.windows_from_labels(len(scores), s.labels)))
    return {
        "nab_score": round(nab.normalised(results), 2),
        "series": len(corpus),
        "windows": sum(r.windows for r in results),
        "detected": sum(r.tp for r in results),
        "missed": sum(r.fn for r in results),
        "false_positives": sum(r.fp for r in results),
    }
