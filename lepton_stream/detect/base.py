"""The count-detector interface and its registry: what the worker, `detect-series` and `detect-eval` build.

A count detector scores one subject's series, one closed bucket at a time, causally, and keeps all it knows
in a JSON-serialisable state of bounded size. `LEPTON_DETECTOR` names the one the worker uses; the same
name and warm-up settings build the detector `detect-series` runs, so offline scores are the worker's.
"""

from __future__ import annotations

import json
from typing import Any, Protocol, runtime_checkable

from lepton_stream.detect.context import ContextDetector
from lepton_stream.detect.spike import SpikeDetector

MAX_STATE_BYTES = 4096  # a stored state must stay within this, whatever the series (tests hold both to it)


@runtime_checkable
class CountDetector(Protocol):
    kind: str

    def update(self, ts: float, value: float) -> float:
        """Score of the bucket at `ts` (epoch seconds) with `value`; in [0, 1], >= 0.5 = alert. NaN: 0, ignored."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON state ({"kind", "v", "params", "state"}) that `from_dict` restores exactly."""
        ...

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CountDetector: ...

    def finite(self) -> bool:
        """Whether every number of the state is finite."""
        ...


DETECTORS: dict[str, type] = {"context": ContextDetector, "spike": SpikeDetector}
DEFAULT = "context"


def make(name: str = DEFAULT, **overrides: Any) -> CountDetector:
    """A fresh detector of kind `name` with parameter overrides (e.g. warmup=40)."""
    try:
        cls = DETECTORS[name]
    except KeyError:
        raise ValueError(f"unknown detector {name!r}; known: {', '.join(sorted(DETECTORS))}") from None
    return cls(**overrides)


def from_dict(data: dict[str, Any]) -> CountDetector:
    """A detector restored from its state, of the kind the state names."""
    return DETECTORS[data["kind"]].from_dict(data)


def for_settings(settings: Any) -> CountDetector:
    """The detector the worker runs per subject, from its settings (LEPTON_DETECTOR and the warm-up)."""
    return make(settings.detector, warmup=settings.detector_warmup, warmup_s=settings.detector_warmup_s)


def state_bytes(det: CountDetector) -> int:
    """Size of the detector's state as stored (compact JSON)."""
    return len(json.dumps(det.to_dict(), separators=(",", ":")))
