"""Labelled synthetic and semi-realistic count series for developing and scoring the detectors.

Each series is a Poisson draw around a latent rate = level × daily profile × weekly profile × drift ×
log-normal noise (overdispersion), with the things a detector must NOT alert on (seasonality, slow
drift, intermittent near-zero series, long quiet stretches at night/weekends, short noisy bursts of
moderate size) and labelled anomalies it must catch (spikes, dips during busy times, abrupt level
shifts). Labels are row indices of each anomaly's onset; NAB windows are built from them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

SPACINGS = (300, 300, 300, 600, 1800, 3600)  # bucket widths in seconds, 5-minute buckets most common
START = 1_420_070_400  # 2015-01-01T00:00:00Z


@dataclass
class Series:
    name: str
    timestamps: list[float]
    values: list[float]
    labels: list[int]  # onset row of each true anomaly
    kinds: list[str] = field(default_factory=list)


def _profile(rng: np.random.Generator, ts: np.ndarray) -> np.ndarray:
    """Smooth daily shape (one or two peaks) and a weekend dip, multiplicative."""
    hours = (ts % 86400) / 3600.0
    amp = rng.uniform(0.0, 0.9) if rng.random() < 0.85 else 0.0
    peak = rng.uniform(0, 24)
    daily = 1 + amp * np.cos(2 * math.pi * (hours - peak) / 24)
    if rng.random() < 0.4:  # second harmonic: morning and evening peaks
        daily *= 1 + 0.4 * amp * np.cos(4 * math.pi * (hours - rng.uniform(0, 12)) / 24)
    daily = np.maximum(daily, 0.02)
    dow = ((ts // 86400).astype(np.int64) + 3) % 7  # 0 = Monday
    weekend = rng.uniform(0.3, 1.0) if rng.random() < 0.6 else 1.0
    weekly = np.where(dow >= 5, weekend, 1.0)
    return daily * weekly


def _drift(rng: np.random.Generator, n: int) -> np.ndarray:
    kind = rng.choice(["none", "linear", "walk"])
    if kind == "linear":
        return np.exp(np.linspace(0, rng.uniform(-0.8, 0.8), n))
    if kind == "walk":  # slow random walk in log-level, smoothed
        steps = rng.normal(0, 0.01, n)
        walk = np.cumsum(steps)
        k = max(1, n // 50)
        walk = np.convolve(walk, np.ones(k) / k, mode="same")
        return np.exp(walk - walk[0])
    return np.ones(n)


def _noise_bursts(rng: np.random.Generator, rate: np.ndarray, sigma: float) -> None:
    """Short bursts of moderate extra activity or jitter: realistic and not labelled (modified in place)."""
    n = len(rate)
    for _ in range(rng.integers(0, 6)):
        start, length = int(rng.integers(0, n)), int(rng.integers(3, 30))
        end = min(n, start + length)
        # bounded by the series' own noise level, so it stays noise rather than an event
        rate[start:end] *= np.exp(np.abs(rng.normal(0, 2 * sigma, end - start)).clip(0, 3 * sigma))


def _sd(mu: float, sigma: float) -> float:
    return math.sqrt(mu + (mu * sigma) ** 2)


def _place(rng: np.random.Generator, n: int, k: int, start: int, gap: int) -> list[int]:
    spots: list[int] = []
    for _ in range(50 * k):
        if len(spots) == k:
            break
        p = int(rng.integers(start, n - 20))
        if all(abs(p - q) > gap for q in spots):
            spots.append(p)
    return sorted(spots)


def make_series(rng: np.random.Generator, name: str) -> Series:
    n = int(rng.integers(2500, 7000))
    spacing = int(rng.choice(SPACINGS))
    t0 = START + int(rng.integers(0, 400)) * 86400
    ts = t0 + spacing * np.arange(n, dtype=np.float64)
    level = float(math.exp(rng.uniform(math.log(0.3), math.log(3000))))
    sigma = float(rng.uniform(0.05, 0.5))  # log-normal overdispersion
    if rng.random() < 0.2:  # a fraction of near-empty series that sit at 0 most of the time
        level = float(rng.uniform(0.05, 0.8))
    rate = level * _profile(rng, ts) * _drift(rng, n)
    if rng.random() < 0.25:  # long quiet stretch (e.g. a holiday), gradual, not labelled
        a = int(rng.integers(n // 5, n - n // 5))
        length = int(rng.integers(n // 40, n // 10))
        ramp = np.ones(n)
        depth = rng.uniform(0.3, 0.7)
        window = np.hanning(min(length, n - a)) if length > 2 else np.ones(1)
        ramp[a : a + len(window)] -= depth * window
        rate *= ramp
    noise = np.exp(rng.normal(-sigma * sigma / 2, sigma, n))
    _noise_bursts(rng, noise, sigma)

    labels: list[int] = []
    kinds: list[str] = []
    n_anom = int(rng.choice([0, 1, 1, 2, 2, 3, 4]))
    first = int(0.15 * n) + 10
    for pos in _place(rng, n, n_anom, first, max(200, n // 8)):
        mu = float(rate[pos])
        kind = str(rng.choice(["spike", "spike", "spike", "dip", "shift"]))
        if kind == "dip" and mu < 15:
            kind = "spike"  # a dip is not observable at low counts
        if kind == "spike":
            length = int(rng.integers(1, 12))
            extra = rng.uniform(8, 25) * _sd(mu, sigma) + 5
            shape = np.hanning(length + 2)[1:-1] if length > 2 else np.ones(length)
            end = min(n, pos + length)
            rate[pos:end] += extra * shape[: end - pos] / shape.max()
        elif kind == "dip":
            length = int(rng.integers(6, 60))
            rate[pos : pos + length] *= rng.uniform(0.0, 0.1)
        else:
            up = rng.random() < 0.6 or mu < 15
            factor = rng.uniform(3, 8) if up else rng.uniform(0.05, 0.3)
            factor = max(factor, 1 + 8 * _sd(mu, sigma) / max(mu, 0.1)) if up else factor
            rate[pos:] *= factor
        labels.append(pos)
        kinds.append(kind)
    values = rng.poisson(np.maximum(rate * noise, 0.0)).astype(float)
    return Series(name=name, timestamps=ts.tolist(), values=values.tolist(), labels=labels, kinds=kinds)


def corpus(seed: int = 1, n_series: int = 40) -> list[Series]:
    """A reproducible labelled corpus; different seeds give independent corpora (dev vs held-out)."""
    rng = np.random.default_rng(seed)
    return [make_series(rng, f"s{seed}_{i:03d}") for i in range(n_series)]


DEV_SEED = 1
HELDOUT_SEED = 2027
