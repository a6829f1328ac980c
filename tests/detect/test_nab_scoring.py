"""NAB standard-profile scoring: reward curve, perfect/null normalisation, probation and false positives."""

from __future__ import annotations

import pytest

from lepton_stream.tooling.detect_eval import nab


def test_scaled_sigmoid_matches_the_published_values() -> None:
    assert nab.scaled_sigmoid(-1.0) == pytest.approx(0.98661, abs=1e-5)
    assert nab.scaled_sigmoid(-0.5) == pytest.approx(0.84828, abs=1e-5)
    assert nab.scaled_sigmoid(0.0) == pytest.approx(0.0)
    assert nab.scaled_sigmoid(3.0) == -1.0


def test_windows_follow_the_ten_percent_rule() -> None:
    assert nab.windows_from_labels(1000, [500]) == [(450, 550)]
    assert nab.windows_from_labels(1000, [300, 700]) == [(275, 325), (675, 725)]


def test_perfect_null_and_late_detectors() -> None:
    n, windows = 1000, nab.windows_from_labels(1000, [500])
    perfect = [0.0] * n
    perfect[450] = 1.0
    assert nab.normalised([nab.score_series(perfect, windows)]) == pytest.approx(100.0)
    assert nab.normalised([nab.score_series([0.0] * n, windows)]) == pytest.approx(0.0)
    late = [0.0] * n
    late[540] = 1.0
    late_score = nab.normalised([nab.score_series(late, windows)])
    assert 50 < late_score < 70  # better than missing it, far below catching it early


def test_false_positives_cost_and_probation_is_free() -> None:
    n, windows = 1000, nab.windows_from_labels(1000, [500])
    scores = [0.0] * n
    scores[450] = 1.0
    scores[10] = 1.0  # inside the probationary 15%: ignored
    base = nab.score_series(scores, windows)
    assert base.fp == 0 and base.tp == 1
    scores[900] = 1.0  # far from the window: costs A_FP
    with_fp = nab.score_series(scores, windows)
    assert with_fp.fp == 1
    assert with_fp.raw == pytest.approx(base.raw + nab.A_FP)


def test_only_the_first_detection_in_a_window_counts() -> None:
    n, windows = 1000, nab.windows_from_labels(1000, [500])
    one = [0.0] * n
    one[460] = 1.0
    many = list(one)
    for i in range(461, 550):
        many[i] = 1.0
    assert nab.score_series(many, windows).raw == pytest.approx(nab.score_series(one, windows).raw)
