"""ShareDetector: a stable share stays quiet, a jump in share with volume alerts, thin buckets are ignored."""

from __future__ import annotations

import json

import numpy as np

from lepton_stream.detect import ShareDetector

T0 = 1_420_070_400.0


def test_stable_share_stays_quiet_and_jump_alerts() -> None:
    rng = np.random.default_rng(4)
    det = ShareDetector(min_volume=20)
    scores = []
    for i in range(600):
        total = int(rng.integers(30, 200))
        share = 0.15 if i < 500 else 0.6
        scores.append(det.update(T0 + 300 * i, float(rng.binomial(total, share)), float(total)))
    assert max(scores[:500]) < 0.5
    assert max(scores[500:505]) >= 0.5


def test_buckets_below_min_volume_are_ignored() -> None:
    det = ShareDetector(min_volume=20)
    for i in range(100):
        det.update(T0 + 300 * i, 5.0, 50.0)
    before = det.to_dict()
    assert det.update(T0 + 300 * 100, 9.0, 9.0) == 0.0  # 100% negative, but only 9 messages
    assert det.to_dict() == before


def test_share_state_round_trips() -> None:
    rng = np.random.default_rng(8)
    rows = [(float(rng.binomial(100, 0.2)), 100.0) for _ in range(300)]
    a = ShareDetector()
    first = [a.update(T0 + i, k, n) for i, (k, n) in enumerate(rows[:150])]
    b = ShareDetector.from_dict(json.loads(json.dumps(a.to_dict())))
    rest = [b.update(T0 + i, k, n) for i, (k, n) in enumerate(rows[150:], start=150)]
    c = ShareDetector()
    assert first + rest == [c.update(T0 + i, k, n) for i, (k, n) in enumerate(rows)]
