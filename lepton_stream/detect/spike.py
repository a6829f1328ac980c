"""Streaming spike/dip detector for count series, with explicit JSON-serialisable state.

Model, in the variance-stabilised (Anscombe) space y = 2*sqrt(x + 3/8), where Poisson noise has unit
variance at every scale:  y ≈ level + daily[hour] + weekly[weekday] + noise.
- level, daily and weekly profiles are learned online from Huber-clipped residuals, so a spike barely
  moves the baseline; the profiles are only used when timestamps are real clock times spaced < 3 h;
- the noise scale is a robust running mean of |residual| floored at 1 (pure Poisson), so low counts
  never alert on noise and overdispersed high counts get a scale of their own;
- a residual becomes a one-sided normal tail probability, scored so that 0.5 = `alert_log10_p`;
- no alerts during a count-based warm-up, none for `cooldown` buckets after an alert (the first
  detection is what counts), and a sustained run of same-sided outliers re-bases the level (a level
  shift alerts once, then becomes the new normal).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar

from lepton_stream.detect.calibrate import log10_tail, score_from_log10_p

SUPPRESSED_CAP = 0.49  # scores shown while alerts are suppressed stay just below the alert line
_DAY, _WEEK_OFFSET = 86400.0, 3  # 1970-01-01 was a Thursday: (days + 3) % 7 gives Monday = 0


def anscombe(x: float) -> float:
    return 2.0 * math.sqrt(max(x, 0.0) + 0.375)


@dataclass
class SpikeParams:
    alert_log10_p: float = -6.5  # tail probability that maps to score 0.5
    warmup: int = 150  # buckets before any alert ...
    warmup_s: float = 86400.0  # ... and until a full day is seen (daily profile), unless that takes
    warmup_max: int = 600  # more buckets than this
    cooldown: int = 150  # buckets without alerts after one
    level_rate: float = 0.02  # EWMA rate of the level
    season_rate: float = 0.05  # slowest per-visit rate of a seasonal slot
    scale_rate: float = 0.01  # EWMA rate of the noise scale
    clip: float = 3.0  # Huber clip (in scales) of residuals fed back into the model
    scale_floor: float = 1.0  # Poisson noise in Anscombe space
    shift_z: float = 3.0  # a run of residuals beyond this many scales ...
    shift_run: int = 8  # ... this long, all on one side, re-bases the level
    max_season_spacing: float = 3 * 3600.0
    two_sided: bool = True  # dips alert too
    cusum_drift: float = 1.0  # CUSUM slack (in scales): sustained moderate shifts alert too ...
    cusum_alert: float = 18.0  # ... once the accumulated excess reaches this (score 0.5)


@dataclass
class _State:
    n: int = 0
    first_ts: float | None = None
    last_ts: float | None = None
    spacing: float | None = None  # running estimate of the bucket width (seconds)
    level: float | None = None
    mean_up: float = 0.0  # running mean of positive |residual| (right tail scale)
    mean_down: float = 0.0  # and of negative ones: multiplicative noise is skewed in sqrt space
    cusum_up: float = 0.0
    cusum_down: float = 0.0
    daily: list[float] = field(default_factory=lambda: [0.0] * 24)
    daily_n: list[float] = field(default_factory=lambda: [0.0] * 24)
    weekly: list[float] = field(default_factory=lambda: [0.0] * 7)
    weekly_n: list[int] = field(default_factory=lambda: [0] * 7)
    cooldown_left: int = 0
    run_sign: int = 0
    run_len: int = 0
    run_sum: float = 0.0


class SpikeDetector:
    """`update(ts, value)` → score in [0,1] (≥ 0.5 = alert); causal; `to_dict`/`from_dict` round-trip exactly."""

    kind = "spike"

    def __init__(self, params: SpikeParams | None = None, **overrides: Any) -> None:
        base = params or SpikeParams()
        self.params = SpikeParams(**{**asdict(base), **overrides}) if overrides else base
        self.s = _State()

    # ---- persistence ----
    def to_dict(self) -> dict[str, Any]:
        # Shallow copies (asdict deep-copies recursively, a third of the detect stage); lists are copied so
        # the dict never shares state with this detector.
        return {"kind": "spike", "v": 1, "params": dict(vars(self.params)), "state": copy_state(vars(self.s))}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpikeDetector:
        d = cls(restore(SpikeParams, data["params"]))
        d.s = restore(_State, data["state"])  # a peek at the dict's state must not write into it
        return d

    def finite(self) -> bool:
        """Whether every number of the state is finite (a NaN would be stored as JSON null)."""
        s = self.s
        total = s.mean_up + s.mean_down + s.cusum_up + s.cusum_down + s.run_sum + sum(s.daily) + sum(s.weekly)
        for v in (s.level, s.spacing, s.first_ts, s.last_ts):
            if v is not None:
                total += v
        return math.isfinite(total)

    # ---- model pieces ----
    def _seasonal_on(self, ts: float) -> bool:
        sp = self.s.spacing
        return ts > 1e8 and sp is not None and 0 < sp <= self.params.max_season_spacing

    @staticmethod
    def _slots(ts: float) -> tuple[int, float, int]:
        """Hour slot below ts, weight of the next one (the daily profile is interpolated between hour
        centres, so a steep daily ramp is not a staircase), and the weekday."""
        f = (ts % _DAY) / 3600.0 - 0.5
        lo = math.floor(f)
        return lo % 24, f - lo, int((ts // _DAY + _WEEK_OFFSET) % 7)

    def _season(self, h: int, w: float, d: int) -> float:
        s = self.s
        return (1.0 - w) * s.daily[h] + w * s.daily[(h + 1) % 24] + s.weekly[d]

    def _track_spacing(self, ts: float) -> None:
        s = self.s
        if s.last_ts is not None and ts > s.last_ts:
            dt = ts - s.last_ts
            # a slow geometric mean resists gaps and duplicates
            s.spacing = dt if s.spacing is None else math.exp(0.9 * math.log(s.spacing) + 0.1 * math.log(dt))
        s.last_ts = ts if s.last_ts is None else max(ts, s.last_ts)

    def update(self, ts: float, value: float) -> float:
        p, s = self.params, self.s
        if value is None or not math.isfinite(value):
            return 0.0  # a missing bucket carries no evidence and must not corrupt the state
        self._track_spacing(ts)
        y = anscombe(value)
        s.n += 1
        if s.level is None:
            s.level = y
            return 0.0
        seasonal = self._seasonal_on(ts)
        h, w, d = self._slots(ts)
        # seasonality is multiplicative in rate, hence in sqrt space too: log-additive profiles
        factor = math.exp(self._season(h, w, d)) if seasonal else 1.0
        pred = s.level * factor
        resid = y - pred
        side_mean = s.mean_up if resid > 0 else s.mean_down
        scale = max(1.2533 * side_mean, p.scale_floor)  # mean |N(0,1)| = 0.798
        z = resid / scale
        # the normal tail of an Anscombe residual is poor at low counts: also take the Poisson deviance
        # residual at the predicted mean, deflated by the same overdispersion
        zp = poisson_z(value, max((pred / 2.0) ** 2 - 0.375, 0.01)) / (scale / p.scale_floor)
        if zp * z > 0 and abs(zp) > abs(z):
            z = zp
        if not p.two_sided:
            z = max(z, 0.0)
        raw = score_from_log10_p(log10_tail(z), p.alert_log10_p)
        if s.first_ts is None:
            s.first_ts = ts
        warming = s.n <= p.warmup or (ts - s.first_ts < p.warmup_s and s.n <= p.warmup_max)
        suppressed = warming or s.cooldown_left > 0
        if s.cooldown_left > 0:
            s.cooldown_left -= 1
        if suppressed:  # evidence gathered while learning or after an alert must not fire later
            s.cusum_up = s.cusum_down = 0.0
        else:
            zc = max(-4.0, min(4.0, z))
            s.cusum_up = max(0.0, s.cusum_up + zc - p.cusum_drift)
            s.cusum_down = max(0.0, s.cusum_down - zc - p.cusum_drift) if p.two_sided else 0.0
            raw = max(raw, min(1.0, 0.5 * max(s.cusum_up, s.cusum_down) / p.cusum_alert))
        if suppressed:
            score = min(raw, SUPPRESSED_CAP)
        else:
            score = raw
            if raw >= 0.5:
                s.cooldown_left = p.cooldown
                s.cusum_up = s.cusum_down = 0.0
        self._learn(resid, scale, z, factor, seasonal, h, w, d)
        return score

    def _learn(
        self, resid: float, scale: float, z: float, factor: float, seasonal: bool, h: int, w: float, d: int
    ) -> None:
        p, s = self.params, self.s
        assert s.level is not None
        c = max(-p.clip * scale, min(p.clip * scale, resid))
        # warm start: learn fast at first, then settle on the configured rates
        rate = max(p.level_rate, 1.0 / (s.n + 1))
        srate = max(p.scale_rate, 2.0 / (s.n + 1))
        if resid > 0:
            s.mean_up += srate * (min(resid, p.clip * scale) - s.mean_up)
        else:
            s.mean_down += srate * (min(-resid, p.clip * scale) - s.mean_down)
        s.level = max(s.level + rate * c / factor, 1e-3)
        if seasonal:
            rel = c / (s.level * factor)  # relative error drives the log-profile
            s.weekly_n[d] += 1
            for slot, wt in ((h, 1.0 - w), ((h + 1) % 24, w)):
                s.daily_n[slot] += wt
                s.daily[slot] += max(p.season_rate, 1.0 / (s.daily_n[slot] + 1)) * wt * rel * 0.5
            s.weekly[d] += max(p.season_rate / 7, 1.0 / (s.weekly_n[d] + 1)) * rel * 0.25
            # keep the profiles zero-mean so the level stays the level
            md = sum(s.daily) / 24.0
            mw = sum(s.weekly) / 7.0
            s.daily = [v - md for v in s.daily]
            s.weekly = [v - mw for v in s.weekly]
            s.level *= math.exp(md + mw)
        # level shift: a sustained one-sided run re-bases the level instead of alerting forever
        sign = 1 if z > p.shift_z else -1 if z < -p.shift_z else 0
        if sign and sign == s.run_sign:
            s.run_len += 1
            s.run_sum += resid
        else:
            s.run_sign, s.run_len, s.run_sum = sign, (1 if sign else 0), (resid if sign else 0.0)
        if s.run_len >= p.shift_run:
            s.level = max(s.level + (s.run_sum / s.run_len - c * rate) / factor, 1e-3)
            shift = abs(s.run_sum / s.run_len) / 4  # be humble right after a shift
            s.mean_up, s.mean_down = max(s.mean_up, shift), max(s.mean_down, shift)
            s.run_sign, s.run_len, s.run_sum = 0, 0, 0.0
            s.cusum_up = s.cusum_down = 0.0


def poisson_z(x: float, mu: float) -> float:
    """Signed deviance residual of a Poisson count (with continuity correction): close to the exact tail."""
    if abs(x - mu) <= 0.5:
        return 0.0
    xc = x - 0.5 if x > mu else x + 0.5
    dev = 2.0 * ((xc * math.log(xc / mu) if xc > 0 else 0.0) - (xc - mu))
    return math.copysign(math.sqrt(max(dev, 0.0)), x - mu)


def copy_state(d: dict[str, Any]) -> dict[str, Any]:
    """A detector state's fields with its lists copied: a dict and a detector never share mutable state."""
    return {k: list(v) if isinstance(v, list) else v for k, v in d.items()}


_D = TypeVar("_D")


def restore(cls: type[_D], stored: dict[str, Any]) -> _D:
    """Stored params or state as `cls`, lists copied. Fields a newer version added are dropped: during a rolling
    update workers of two versions share subjects' states, and the older one must read the newer's; fields a
    state lacks (an older version's) take their defaults."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]  # cls is a dataclass
    return cls(**{k: v for k, v in copy_state(stored).items() if k in names})
