"""Every registered count detector: the interface, causality, exact state round trips and bounded state.
The context detector's own rules: novelty at the series' scale, Poisson significance, cooldown, forgetting."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from lepton_stream.detect import ContextDetector, base

KINDS = sorted(base.DETECTORS)
T0 = 1_420_070_400
W = 300


def poisson_series(n: int, mean: float = 20.0, seed: int = 3) -> list[float]:
    rng = np.random.default_rng(seed)
    hours = (np.arange(n) * W % 86400) / 3600.0
    rate = mean * (1 + 0.5 * np.sin(2 * math.pi * hours / 24))
    return [float(v) for v in rng.poisson(rate)]


def feed(det, values, start: int = 0) -> list[float]:
    return [det.update(T0 + W * (start + i), v) for i, v in enumerate(values)]


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_implements_the_protocol_and_restores_by_kind(kind: str) -> None:
    det = base.make(kind)
    assert isinstance(det, base.CountDetector)
    assert det.kind == kind
    feed(det, poisson_series(50))
    again = base.from_dict(json.loads(json.dumps(det.to_dict())))
    assert type(again) is type(det) and again.to_dict() == det.to_dict()


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown detector"):
        base.make("nope")


def test_worker_settings_pick_the_kind_and_warm_up() -> None:
    from lepton_stream.config import load_settings

    s = load_settings(detector="spike", detector_warmup=7, detector_warmup_s=0)
    det = base.for_settings(s)
    assert det.kind == "spike" and det.params.warmup == 7 and det.params.warmup_s == 0
    assert base.for_settings(load_settings()).kind == base.DEFAULT


@pytest.mark.parametrize("kind", KINDS)
def test_scores_are_causal(kind: str) -> None:
    values = poisson_series(1500)
    values[1200] = 200.0
    full = feed(base.make(kind), values)
    for cut in (300, 1199, 1201):
        assert feed(base.make(kind), values[:cut]) == full[:cut]


@pytest.mark.parametrize("kind", KINDS)
def test_a_state_saved_mid_series_resumes_exactly(kind: str) -> None:
    values = poisson_series(1500, seed=8)
    values[900] = 150.0
    det = base.make(kind)
    full = feed(det, values)
    first = base.make(kind)
    head = feed(first, values[:700])
    resumed = base.from_dict(json.loads(json.dumps(first.to_dict())))
    assert head + feed(resumed, values[700:], start=700) == full
    assert resumed.to_dict() == det.to_dict()


@pytest.mark.parametrize("kind", KINDS)
def test_state_stays_bounded_whatever_the_series(kind: str) -> None:
    rng = np.random.default_rng(4)
    det = base.make(kind)
    t = float(T0)
    for i in range(6000):
        t += W * (1 if i % 500 else 400)  # gaps of a day and more
        v = float(rng.choice([0, 1, 5, 1e6])) if i % 7 else float(rng.lognormal(3, 3))
        det.update(t, v)
        if i % 1000 == 0:
            assert base.state_bytes(det) <= base.MAX_STATE_BYTES
    assert base.state_bytes(det) <= base.MAX_STATE_BYTES
    assert det.finite()


@pytest.mark.parametrize("kind", KINDS)
def test_a_missing_value_scores_zero_and_changes_nothing(kind: str) -> None:
    det = base.make(kind)
    feed(det, poisson_series(400))
    before = det.to_dict()
    assert det.update(T0 + W * 400, float("nan")) == 0.0
    assert det.to_dict() == before


def test_a_burst_on_a_busy_count_series_alerts_once_and_nothing_else_does() -> None:
    values = poisson_series(2000)
    values[1000:1003] = [120.0, 150.0, 110.0]
    scores = feed(ContextDetector(), values)
    assert [i for i, s in enumerate(scores) if s >= 0.5] == [1000]
    assert max(scores[:288]) < 0.5  # a day of warm-up


def test_low_counts_that_poisson_noise_explains_never_alert() -> None:
    rng = np.random.default_rng(5)
    values = [float(v) for v in rng.poisson(0.05, 4000)]  # mostly zeros, the odd 1 or 2
    assert max(feed(ContextDetector(), values)) < 0.5


def test_an_escalation_breaks_through_the_cooldown() -> None:
    values = [float(v) for v in np.random.default_rng(6).poisson(2.0, 600)]
    values[400:402] = [12.0, 40.0]  # first a modest rise, then the incident's peak
    scores = feed(ContextDetector(), values)
    assert scores[400] >= 0.5 and scores[401] >= 0.5
    assert max(scores[402:500]) < 0.5  # then the cooldown holds


def test_what_was_seen_two_epochs_ago_is_novel_again() -> None:
    day = 86400 // W
    values = poisson_series(40 * day, seed=9)
    # 400 lands in the extreme bin whatever the scale has settled to (200 sits on a bin edge: 8 or 9)
    values[3 * day] = 400.0
    values[36 * day] = 400.0  # more than two 14-day epochs later
    values[10 * day] = 400.0  # but within the same epochs as the first: known
    scores = feed(ContextDetector(), values)
    assert scores[3 * day] >= 0.5 and scores[10 * day] < 0.5 and scores[36 * day] >= 0.5


def test_a_clean_daily_square_wave_is_not_news() -> None:
    # steps at 09:00 and 18:00 every day (a slot boundary): with 5-minute buckets each half-hour slot is the mean of
    # its own buckets, so the step edges leave no recurring residual (interpolated slots alerted about four times)
    hours = [(i * W % 86400) / 3600.0 for i in range(14 * 86400 // W)]
    values = [80.5 if 9 <= h < 18 else 20.5 for h in hours]
    assert max(feed(ContextDetector(), values)) < 0.5


def test_a_busy_series_alerts_less_but_a_residual_of_a_new_size_still_alerts() -> None:
    # bursts of random size several times a day: the weak kinds of novelty (new moves, new sustained sizes) stop
    # alerting once novelty is an everyday event; a burst far beyond any seen still alerts
    rng = np.random.default_rng(5)
    values = [10.0 + float(rng.normal(0, 0.5)) for _ in range(21 * 86400 // W)]
    for i in rng.choice(len(values) - 300, size=21 * 40, replace=False):
        values[int(i)] += float(rng.uniform(3, 40))
    values[-10] = 5000.0
    gated = feed(ContextDetector(), values)
    ungated = feed(ContextDetector(busy_per_day=1e9), values)
    assert sum(x >= 0.5 for x in gated) < sum(x >= 0.5 for x in ungated)
    assert gated[-10] >= 0.5


def test_a_burst_above_every_burst_the_memory_holds_alerts_though_its_residual_size_was_seen() -> None:
    # single-bucket bursts of 40-100 above a flat level, often enough that their residual bins (sized by the series'
    # running range) are all known; then one of 125: a record of the value, in a bin seen before
    rng = np.random.default_rng(0)
    n = 6 * 86400 // W
    values = [10.0 + float(rng.normal(0, 0.5)) for _ in range(n)]
    i = 20
    while i < n - 100:
        values[i] += float(rng.uniform(40, 100))
        i += int(rng.integers(20, 200))
    values[n - 50] = 135.0
    with_records = feed(ContextDetector(), values)
    without = feed(ContextDetector(record_margin=math.inf), values)
    assert without[n - 50] < 0.5  # the residual alone is not news here
    alerts = {i for i, s in enumerate(with_records) if s >= 0.5}
    assert alerts - {i for i, s in enumerate(without) if s >= 0.5} == {n - 50}  # only the record is added


@pytest.mark.parametrize("kind", KINDS)
def test_a_state_written_by_a_newer_version_is_read_without_its_new_fields(kind: str) -> None:
    # during a rolling update workers of two versions share subjects' states: the older one must read a state
    # holding fields it does not know (and drops them), not fail the batch
    d = base.make(kind)
    feed(d, poisson_series(300))
    data = d.to_dict()
    newer = json.loads(json.dumps(data))
    newer["params"]["a_future_setting"] = 1.0
    newer["state"]["a_future_field"] = [1, 2]
    restored = base.from_dict(newer)
    assert restored.to_dict() == data
