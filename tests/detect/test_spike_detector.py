"""SpikeDetector on synthetic series: spikes alert, noise and seasonality at any scale do not."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lepton_stream.detect import SpikeDetector

T0 = 1_420_070_400.0  # 2015-01-01, 5-minute buckets
STEP = 300.0


def run(values, det: SpikeDetector | None = None, t0: float = T0) -> list[float]:
    det = det or SpikeDetector()
    return [det.update(t0 + i * STEP, float(v)) for i, v in enumerate(values)]


@pytest.mark.parametrize("level", [0.3, 3.0, 30.0, 300.0, 3000.0])
def test_steady_poisson_noise_never_alerts(level: float) -> None:
    values = np.random.default_rng(7).poisson(level, 3000)
    scores = run(values)
    assert max(scores) < 0.5
    assert all(0.0 <= s <= 1.0 for s in scores)


@pytest.mark.parametrize("level", [2.0, 20.0, 200.0, 2000.0])
def test_clear_spike_alerts_at_every_scale(level: float) -> None:
    values = np.random.default_rng(3).poisson(level, 1500).astype(float)
    at = 1200
    values[at] = level + 15 * math.sqrt(level) + 10  # far outside Poisson noise at this level
    scores = run(values)
    assert scores[at] >= 0.5
    assert max(scores[:at]) < 0.5
    assert max(scores[at + 1 :]) < 0.5  # one spike, one alert


def test_daily_and_weekly_seasonality_does_not_alert() -> None:
    rng = np.random.default_rng(11)
    n = 288 * 28  # four weeks of 5-minute buckets
    ts = T0 + STEP * np.arange(n)
    hours = (ts % 86400) / 3600
    weekend = ((ts // 86400 + 3) % 7) >= 5
    rate = 120 * (1 + 0.8 * np.cos(2 * np.pi * (hours - 15) / 24)) * np.where(weekend, 0.5, 1.0) + 1
    values = rng.poisson(rate)
    det = SpikeDetector()
    scores = [det.update(float(t), float(v)) for t, v in zip(ts, values, strict=True)]
    # the first weekend halves the counts at midnight, which is new at that point: one alert at most there
    assert sum(s >= 0.5 for s in scores[: 288 * 7]) <= 1
    assert max(scores[288 * 7 :]) < 0.5  # once a week has been seen, nothing


def test_dip_to_zero_in_a_busy_series_alerts() -> None:
    values = np.random.default_rng(5).poisson(80, 1200).astype(float)
    values[1000:1030] = 0
    scores = run(values)
    assert max(scores[1000:1030]) >= 0.5
    assert max(scores[:1000]) < 0.5


def test_level_shift_alerts_once_then_becomes_normal() -> None:
    rng = np.random.default_rng(9)
    values = np.concatenate([rng.poisson(20, 800), rng.poisson(120, 1200)]).astype(float)
    scores = run(values)
    alerts = [i for i, s in enumerate(scores) if s >= 0.5]
    assert alerts and 800 <= alerts[0] <= 805
    assert len(alerts) <= 2


def test_no_alert_during_warmup() -> None:
    values = [5.0] * 20 + [5000.0] + [5.0] * 20
    assert max(run(values)) < 0.5


def test_missing_values_score_zero_and_leave_state_alone() -> None:
    det = SpikeDetector()
    run(np.random.default_rng(1).poisson(10, 300), det)
    before = json.dumps(det.to_dict())
    assert det.update(T0 + 1e6, float("nan")) == 0.0
    assert json.dumps(det.to_dict()) == before


def test_a_peek_from_a_state_dict_leaves_the_dict_alone() -> None:
    # The monitor scores an open bucket on a detector rebuilt from the state it is about to save.
    det = SpikeDetector()
    run(np.random.default_rng(3).poisson(10, 300), det)
    state = det.to_dict()
    before = json.dumps(state)
    SpikeDetector.from_dict(state).update(T0 + 301 * 300, 50.0)
    assert json.dumps(state) == before


def test_state_round_trips_through_json_mid_series() -> None:
    values = np.random.default_rng(2).poisson(40, 2000).astype(float)
    values[1500] = 400
    full = run(values)
    det = SpikeDetector()
    first = run(values[:900], det)
    restored = SpikeDetector.from_dict(json.loads(json.dumps(det.to_dict())))
    rest = [restored.update(T0 + i * STEP, float(v)) for i, v in enumerate(values[900:], start=900)]
    assert first + rest == full
    assert full[1500] >= 0.5


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.integers(0, 10**6).map(float), st.just(float("nan"))), min_size=1, max_size=300))
def test_scores_are_bounded_and_state_is_plain_json(values: list[float]) -> None:
    det = SpikeDetector()
    scores = run(values, det)
    assert all(0.0 <= s <= 1.0 for s in scores)
    state = det.to_dict()
    assert SpikeDetector.from_dict(json.loads(json.dumps(state))).to_dict() == state
