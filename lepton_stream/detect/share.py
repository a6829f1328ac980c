"""Streaming detector for a share (numerator / denominator per bucket, e.g. negative mentions / all mentions).

The baseline share is the ratio of exponentially weighted sums (volume-weighted, so a busy bucket counts
more than a quiet one); a bucket's surprise is its binomial z-score at that share, deflated by a robust
running overdispersion factor. Buckets under `min_volume` are neither scored nor learned from: a share of
3 out of 4 says little. Same score scale, warm-up and cooldown as SpikeDetector; upward moves only by default.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from lepton_stream.detect.calibrate import log10_tail, score_from_log10_p
from lepton_stream.detect.spike import copy_state, restore

SUPPRESSED_CAP = 0.49


@dataclass
class ShareParams:
    min_volume: float = 20.0
    alert_log10_p: float = -6.5
    warmup: int = 30  # scored buckets before any alert
    cooldown: int = 24
    rate: float = 0.03  # EWMA rate of the baseline sums
    scale_rate: float = 0.02
    clip: float = 3.0
    two_sided: bool = False


@dataclass
class _ShareState:
    n: int = 0
    num: float = 0.0
    den: float = 0.0
    mean_abs: float = 0.0
    cooldown_left: int = 0


class ShareDetector:
    """`update(ts, numerator, denominator)` → score in [0,1] (≥ 0.5 = alert); JSON state via to_dict/from_dict."""

    def __init__(self, params: ShareParams | None = None, **overrides: Any) -> None:
        base = params or ShareParams()
        self.params = ShareParams(**{**asdict(base), **overrides}) if overrides else base
        self.s = _ShareState()

    def to_dict(self) -> dict[str, Any]:
        # Shallow copies (asdict deep-copies recursively, a third of the detect stage); lists are copied so
        # the dict never shares state with this detector.
        return {"kind": "share", "v": 1, "params": dict(vars(self.params)), "state": copy_state(vars(self.s))}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ShareDetector:
        d = cls(restore(ShareParams, data["params"]))
        d.s = restore(_ShareState, data["state"])  # a peek at the dict's state must not write into it
        return d

    def finite(self) -> bool:
        """Whether every number of the state is finite (a NaN would be stored as JSON null)."""
        return math.isfinite(self.s.num + self.s.den + self.s.mean_abs)

    def update(self, ts: float, numerator: float, denominator: float) -> float:
        p, s = self.params, self.s
        if not (math.isfinite(numerator) and math.isfinite(denominator)) or denominator < max(p.min_volume, 1e-9):
            return 0.0
        k = min(max(numerator, 0.0), denominator)
        s.n += 1
        if s.den <= 0:
            s.num, s.den = k, denominator
            return 0.0
        # a half-count prior keeps the baseline share off exactly 0 or 1
        base = (s.num + 0.5) / (s.den + 1.0)
        sd = math.sqrt(base * (1 - base) / denominator)
        z_bin = (k / denominator - base) / sd
        scale = max(1.2533 * s.mean_abs, 1.0)
        z = z_bin / scale
        if not p.two_sided:
            z = max(z, 0.0)
        raw = score_from_log10_p(log10_tail(z), p.alert_log10_p)
        if s.n <= p.warmup or s.cooldown_left > 0:
            score = min(raw, SUPPRESSED_CAP)
            s.cooldown_left = max(0, s.cooldown_left - 1)
        else:
            score = raw
            if raw >= 0.5:
                s.cooldown_left = p.cooldown
        # learn from a clipped version of the bucket so one burst barely moves the baseline
        zc = max(-p.clip * scale, min(p.clip * scale, z_bin))
        k_eff = (base + zc * sd) * denominator
        srate = max(p.scale_rate, 2.0 / (s.n + 1))
        s.mean_abs += srate * (min(abs(z_bin), p.clip * scale) - s.mean_abs)
        r = max(p.rate, 1.0 / (s.n + 1))
        s.num = (1 - r) * s.num + r * k_eff
        s.den = (1 - r) * s.den + r * denominator
        return score
