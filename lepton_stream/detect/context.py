"""Streaming novelty detector: alerts when a series does something it has not done lately, at its own scale.

Model (see docs/detect.md):
- counts (every value so far a non-negative integer) are variance-stabilised, y = 2*sqrt(x + 3/8), where
  Poisson noise has unit variance; other values are used as they are (only the series' own scale matters);
- a robust seasonal baseline (level + a daily profile of half-hour slots, used when the timestamps are clock
  times spaced under 3 h: a step profile when buckets are narrower than a slot, interpolated between slot
  centres otherwise) learned from Huber-clipped residuals, and a slow robust
  scale of the residuals, never below a tenth of the series' running range (a resolution, as in
  context-based detectors, so that tiny wiggles of a clean series are not news) nor, for counts, below
  Poisson noise;
- each residual is quantised in units of `width` scales; the detector remembers every bin and every pair of
  consecutive bins seen in the current and the previous 14-day epoch (two bitsets of 25 + 625 bits). A bin
  not seen lately, or a move between bins not seen lately (other than a return to the centre bin), is
  novel. Bursty series learn their bursts; a level shift is novel once and then learned; a big incident is
  forgotten after two epochs, so it does not make the next one look normal;
- a short running mean of the clipped z-scores is quantised and remembered the same way: a sustained change
  (a drift, a moderate shift, a changed daily shape) that no single bucket reveals is novel too;
- a value above the highest of the memory's epochs by `record_margin` scales is novel: a burst higher than any
  before it, which residual bins (sized by a scale that grows with the bursts) can miss;
- a busy series (novel more than `busy_per_day` times a day over about a week, in event time) alerts only
  on a residual of a size never seen, not on the weaker kinds of novelty;
- counts must also be significant: at least `min_z` away from pure Poisson noise and from the series' own
  noise, so low counts never alert on a stray event;
- no alerts while learning (a count of updates and an event-time span), none for `cooldown` updates after
  one unless a novel bucket escalates well past the alert (the first alert may have been too small to
  publish; the incident's peak must still be heard).
"""

from __future__ import annotations

import base64
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from lepton_stream.detect.spike import copy_state, poisson_z, restore

SUPPRESSED_CAP = 0.49  # scores while alerts are suppressed stay just below the alert line
_DAY = 86400.0
_SLOTS = 48  # half-hour slots: step edges of a daily pattern are not smeared over an hour
_CLIP = 12  # bins beyond ±12 widths share the extreme bin
_NBINS = 2 * _CLIP + 1
_PAIR0 = _NBINS  # bit index of the first pair
_SLOW0 = _PAIR0 + _NBINS * _NBINS  # bit index of the first slow-residual bin
_BITS = _SLOW0 + _NBINS
NEW_BIN_SCORE = 1.0  # a residual of a size never seen
NEW_PAIR_SCORE = 0.75  # a move between two residual sizes never seen one after the other
NEW_SLOW_SCORE = 0.75  # a sustained residual (short running mean) of a size never seen
NEW_RECORD_SCORE = 0.75  # a value above every value of the memory's epochs


def anscombe(x: float) -> float:
    return 2.0 * math.sqrt(max(x, 0.0) + 0.375)


@dataclass
class ContextParams:
    warmup: int = 150  # updates before any alert ...
    warmup_s: float = 86400.0  # ... and the event time that must have been seen (a daily cycle)
    cooldown: int = 100  # updates without alerts after one ...
    escalation: float = 1.5  # ... unless a novel bucket is this many times as far out as the alert was
    width: float = 2.5  # bin width, in residual scales
    resolution: float = 10.0  # the scale is at least the series' running range / this
    range_rate: float = 0.001  # rate at which the running range's ends relax toward the level
    min_z: float = 3.0  # counts: a bucket within this many scales of Poisson or of its own noise never alerts
    level_rate: float = 0.01  # slowest EWMA rate of the level
    scale_rate: float = 0.003  # slowest EWMA rate of the residual scale
    season_rate: float = 0.1  # slowest per-visit rate of a daily slot
    clip: float = 3.0  # Huber clip (in scales) of residuals fed back into the model
    slow_rate: float = 0.2  # rate of the running mean of clipped z-scores (about five buckets) ...
    slow_width: float = 1.0  # ... quantised in bins of this many scales
    max_season_spacing: float = 3 * 3600.0
    epoch_s: float = 14 * 86400.0  # memory of what was seen spans one to two of these (event time)
    busy_per_day: float = 2.0  # weak novelty (a new pair or sustained size) does not alert while novel buckets ...
    busy_span_s: float = 7 * 86400.0  # ... came faster than this per day over about this span (event time)
    pair_min_z: float = 2.5  # a new move between bins is news only if the bucket is this many scales out
    record_margin: float = 1.0  # a value this many scales above the highest of the memory's epochs is news


def _empty_memory() -> str:
    return base64.b64encode(bytes((_BITS + 7) // 8)).decode()


@dataclass
class _ContextState:
    n: int = 0
    first_ts: float | None = None
    last_ts: float | None = None
    spacing: float | None = None  # running geometric mean of the bucket width (seconds)
    counts: bool = True  # every value so far a non-negative integer
    level: float | None = None
    hi: float | None = None  # running range of y: ends jump out to new extremes, relax back slowly
    lo: float | None = None
    scale: float = 0.0  # running mean of |residual| (clipped)
    daily: list[float] = field(default_factory=lambda: [0.0] * _SLOTS)
    daily_n: list[float] = field(default_factory=lambda: [0.0] * _SLOTS)
    prev_bin: int | None = None
    memory: str = field(default_factory=_empty_memory)  # base64 bitset: bins, then pairs of bins, seen ...
    previous: str = field(default_factory=_empty_memory)  # ... in this epoch and in the one before
    epoch_start: float | None = None
    cooldown_left: int = 0
    novel_recent: float = 0.0  # novel buckets, each decayed by exp(-age / busy_span_s)
    novel_ts: float | None = None
    alert_z: float = 0.0  # |z| of the alert that started the cooldown
    slow_z: float = 0.0  # running mean of clipped z-scores: a sustained moderate change
    top: float | None = None  # highest y in this epoch ...
    top_prev: float | None = None  # ... and in the one before (the record the memory holds)


class ContextDetector:
    """`update(ts, value)` → score in [0,1] (≥ 0.5 = alert); causal; `to_dict`/`from_dict` round-trip exactly."""

    kind = "context"

    def __init__(self, params: ContextParams | None = None, **overrides: Any) -> None:
        base = params or ContextParams()
        self.params = ContextParams(**{**asdict(base), **overrides}) if overrides else base
        self.s = _ContextState()
        self._mem = bytearray(base64.b64decode(self.s.memory))
        self._prev = bytearray(base64.b64decode(self.s.previous))

    # ---- persistence ----
    def to_dict(self) -> dict[str, Any]:
        self.s.memory = base64.b64encode(self._mem).decode()
        self.s.previous = base64.b64encode(self._prev).decode()
        return {"kind": self.kind, "v": 1, "params": dict(vars(self.params)), "state": copy_state(vars(self.s))}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ContextDetector:
        d = cls(restore(ContextParams, data["params"]))
        d.s = restore(_ContextState, data["state"])
        if len(d.s.daily) != _SLOTS or len(d.s.daily_n) != _SLOTS:  # another slot count: learn the profile anew
            d.s.daily, d.s.daily_n = [0.0] * _SLOTS, [0.0] * _SLOTS
        d._mem = bytearray(base64.b64decode(d.s.memory))
        d._prev = bytearray(base64.b64decode(d.s.previous))
        if len(d._mem) != (_BITS + 7) // 8 or len(d._prev) != len(d._mem):
            raise ValueError("context detector memory has the wrong size")
        return d

    def finite(self) -> bool:
        """Whether every number of the state is finite (a NaN would be stored as JSON null)."""
        s = self.s
        total = s.scale + s.slow_z + s.novel_recent + sum(s.daily)
        for v in (s.level, s.hi, s.lo, s.top, s.top_prev, s.spacing, s.first_ts, s.last_ts, s.epoch_start, s.novel_ts):
            if v is not None:
                total += v
        return math.isfinite(total)

    # ---- model ----
    def _seen(self, bit: int) -> bool:
        return bool((self._mem[bit >> 3] | self._prev[bit >> 3]) & (1 << (bit & 7)))

    def _mark(self, bit: int) -> None:
        self._mem[bit >> 3] |= 1 << (bit & 7)

    def update(self, ts: float, value: float) -> float:
        p, s = self.params, self.s
        if value is None or not math.isfinite(value):
            return 0.0  # a missing bucket carries no evidence and must not corrupt the state
        if s.last_ts is not None and ts > s.last_ts:
            # a slow geometric mean of the spacing resists gaps and duplicates
            dt = ts - s.last_ts
            s.spacing = dt if s.spacing is None else math.exp(0.9 * math.log(s.spacing) + 0.1 * math.log(dt))
        s.last_ts = ts if s.last_ts is None else max(ts, s.last_ts)
        if s.first_ts is None:
            s.first_ts = s.epoch_start = ts
        elif s.epoch_start is not None and ts - s.epoch_start >= p.epoch_s:
            # forget slowly: what was last seen two epochs ago is novel again (a big incident months ago
            # must not make the next one look normal)
            self._prev, self._mem = self._mem, bytearray(len(self._mem))
            s.top_prev, s.top = s.top, None
            s.epoch_start = ts
        if s.counts and (value < 0 or value != int(value)):
            s.counts = False  # not a count series: stop assuming Poisson noise; start again in raw values
            s.level = s.hi = s.lo = s.top = s.top_prev = None
        y = anscombe(value) if s.counts else value
        s.n += 1
        if s.level is None:
            s.level = s.hi = s.lo = s.top = y
            return 0.0
        if s.hi is None or s.lo is None:  # a state written by hand or by an older version: restart the range
            s.hi = s.lo = s.level
        seasonal = ts > 1e8 and s.spacing is not None and 0 < s.spacing <= p.max_season_spacing
        h = h2 = 0
        w = 0.0
        season = 0.0
        if seasonal:
            # buckets as wide as a slot or wider: interpolate between slot centres (a smooth profile from few
            # visits); narrower buckets: each slot is the mean of its own buckets, so a daily step edge on a
            # slot boundary stays sharp instead of leaving a half-step residual on both sides every day
            interp = (s.spacing or 0.0) >= _DAY / _SLOTS
            f = (ts % _DAY) / (_DAY / _SLOTS) - (0.5 if interp else 0.0)
            lo = math.floor(f)
            w = f - lo if interp else 0.0
            h = lo % _SLOTS
            h2 = (h + 1) % _SLOTS
            season = (1.0 - w) * s.daily[h] + w * s.daily[h2]
        floor = 1.0 if s.counts else 1e-9 * (1.0 + abs(s.level))  # Poisson noise, or only rounding
        resid = y - s.level - season
        scale = max(1.2533 * s.scale, floor, (s.hi - s.lo) / p.resolution)  # mean |N(0,1)| = 0.798
        if not math.isfinite(resid / scale):
            return 0.0  # a state already broken (see finite()): the owner restarts it; never raise here
        z = resid / scale
        significant = True
        if s.counts:
            # at low counts the normal tail of a sqrt-space residual is poor: the Poisson deviance residual at
            # the predicted mean (deflated by the same overdispersion) is close to the exact tail
            pred = (s.level + season) / 2.0
            zp = poisson_z(value, max(pred * pred - 0.375, 0.01))
            significant = abs(zp) >= p.min_z  # what pure Poisson noise explains is never an anomaly
            zp /= scale
            if zp * z > 0 and abs(zp) > abs(z):
                z = zp
            # ... and nothing within min_z of the series' own (overdispersed) noise either
            significant = significant and abs(z) >= p.min_z
        b = math.floor(z / p.width + 0.5)
        b = _CLIP + (-_CLIP if b < -_CLIP else _CLIP if b > _CLIP else b)
        raw = 0.0
        if significant and not self._seen(b):
            raw = NEW_BIN_SCORE
        elif (
            significant
            and abs(z) >= p.pair_min_z
            and b != _CLIP
            and s.prev_bin is not None
            and not self._seen(_PAIR0 + s.prev_bin * _NBINS + b)
        ):
            raw = NEW_PAIR_SCORE
        # a new record: higher than anything in the memory's epochs by a margin. Residual bins are relative to a
        # baseline and a scale that both follow the series, so a burst higher than every burst before it can
        # fall in a bin seen many times; the value itself has not been seen
        top = s.top if s.top_prev is None else s.top_prev if s.top is None else max(s.top, s.top_prev)
        if raw < 0.5 and significant and top is not None and y > top + p.record_margin * scale:
            raw = NEW_RECORD_SCORE
        s.top = y if s.top is None else max(s.top, y)
        # a sustained change no single bucket reveals (a slow drift, a moderate shift, a changed daily shape):
        # the short running mean of clipped z-scores, quantised and remembered like the buckets themselves
        s.slow_z += p.slow_rate * (max(-p.clip, min(p.clip, z)) - s.slow_z)
        bs = math.floor(s.slow_z / p.slow_width + 0.5)
        bs = _CLIP + (-_CLIP if bs < -_CLIP else _CLIP if bs > _CLIP else bs)
        # counts: the mean of k buckets' noise shrinks as sqrt(rate / (2 - rate)); it must clear min_z of that
        slow_significant = not s.counts or abs(s.slow_z) >= p.min_z * math.sqrt(p.slow_rate / (2.0 - p.slow_rate))
        if raw < 0.5 and bs != _CLIP and slow_significant and not self._seen(_SLOW0 + bs):
            raw = NEW_SLOW_SCORE
        # a series that does something new every few hours (bursty, noisy) is not news each time it does: the
        # weaker kinds of novelty (a new move, sustained size or record) do not alert while novel buckets have come
        # faster than `busy_per_day` over the last `busy_span_s` (a decayed count in event time, since the
        # start while the series is younger than that); a residual of a size never seen always may
        if s.novel_ts is not None and ts > s.novel_ts:
            s.novel_recent *= math.exp(-(ts - s.novel_ts) / p.busy_span_s)
        s.novel_ts = ts if s.novel_ts is None else max(ts, s.novel_ts)
        if raw >= 0.5:
            per_day = s.novel_recent * _DAY / min(max(ts - s.first_ts, 3600.0), p.busy_span_s)
            s.novel_recent += 1.0
            if raw < NEW_BIN_SCORE and per_day > p.busy_per_day:
                raw = SUPPRESSED_CAP
        self._mark(b)
        if s.prev_bin is not None:
            self._mark(_PAIR0 + s.prev_bin * _NBINS + b)
        self._mark(_SLOW0 + bs)
        s.prev_bin = b
        warming = s.n <= p.warmup or ts - s.first_ts < p.warmup_s
        # an escalation (far beyond the alert that started the cooldown) is a new finding: a consumer that
        # dropped the first alert (too few events to publish) must still hear of the incident's peak
        escalated = s.cooldown_left > 0 and raw >= 0.5 and abs(z) >= p.escalation * s.alert_z
        if warming or (s.cooldown_left > 0 and not escalated):
            score = min(raw, SUPPRESSED_CAP)
            s.cooldown_left = max(0, s.cooldown_left - 1)
        else:
            score = raw
            if raw >= 0.5:
                s.cooldown_left = p.cooldown
                s.alert_z = abs(z)
        # learn: clipped residuals, so a spike barely moves the baseline; fast at first, then settled rates
        c = max(-p.clip * scale, min(p.clip * scale, resid))
        s.level += max(p.level_rate, 1.0 / (s.n + 1)) * c
        s.scale += max(p.scale_rate, 2.0 / (s.n + 1)) * (min(abs(resid), p.clip * scale) - s.scale)
        s.hi = max(y, s.hi - p.range_rate * (s.hi - s.level))
        s.lo = min(y, s.lo + p.range_rate * (s.level - s.lo))
        if seasonal:
            for slot, wt in ((h, 1.0 - w), (h2, w)):
                s.daily_n[slot] += wt
                s.daily[slot] += max(p.season_rate, 1.0 / (s.daily_n[slot] + 1)) * wt * c
        return score
