"""Numenta Anomaly Benchmark scoring, standard profile, re-implemented from its published rules.

Per series: anomaly windows (10% of the series length shared among its labels, centred on each label),
a probationary first 15% (at most 750 rows) whose rows are ignored, and a fixed threshold (score >= 0.5
is a detection). The first detection in a window earns the scaled sigmoid of its position (1.0 at the
left edge, 0 at the right edge); every detection outside a window costs A_FP times a sigmoid that is small
just after a window and -1 far from it; a window without a detection costs A_FN. The corpus score is
normalised so that the null detector (never alerts) scores 0 and the perfect one scores 100.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

A_TP = 1.0
A_FP = -0.11
A_FN = -1.0
THRESHOLD = 0.5
PROBATION_PERCENT = 0.15
WINDOW_PERCENT = 0.10


def scaled_sigmoid(position: float) -> float:
    """NAB's reward curve: -1.0 (window's left edge) → 0.987, 0.0 (right edge) → 0, past the window → -1."""
    if position >= 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


MAX_TP = scaled_sigmoid(-1.0)


def probation_length(n: int) -> float:
    return min(math.floor(PROBATION_PERCENT * n), PROBATION_PERCENT * 5000)


def windows_from_labels(n: int, label_indices: Sequence[int]) -> list[tuple[int, int]]:
    """NAB window rule: total width 10% of the series split among the labels, each centred on its label."""
    if not label_indices:
        return []
    width = int(WINDOW_PERCENT * n / len(label_indices))
    out: list[tuple[int, int]] = []
    for idx in sorted(label_indices):
        lo, hi = max(0, idx - width // 2), min(n - 1, idx + width // 2)
        if out and lo <= out[-1][1]:  # NAB merges overlapping windows
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


@dataclass
class SeriesScore:
    raw: float = 0.0
    tp: int = 0  # windows detected
    fn: int = 0  # windows missed
    fp: int = 0  # detections outside windows (after probation)
    windows: int = 0  # scorable windows
    first_hits: list[int] = field(default_factory=list)


def score_series(
    scores: Sequence[float], windows: Sequence[tuple[int, int]], threshold: float = THRESHOLD
) -> SeriesScore:
    """Raw standard-profile score of one series; `windows` are inclusive (start, end) row indices."""
    n = len(scores)
    probation = probation_length(n)
    wins = sorted(windows)
    result = SeriesScore()
    best: dict[int, float] = {}
    scorable: set[int] = set()
    w = 0
    prev_right: int | None = None
    prev_width = 0.0
    for i, s in enumerate(scores):
        while w < len(wins) and wins[w][1] < i:
            prev_right, prev_width = wins[w][1], float(wins[w][1] - wins[w][0] + 1)
            w += 1
        inside = w < len(wins) and wins[w][0] <= i <= wins[w][1]
        if i < probation:
            continue
        if inside:
            scorable.add(w)
        if s < threshold:
            continue
        if inside:
            lo, hi = wins[w]
            width = float(hi - lo + 1)
            value = scaled_sigmoid(-(hi - i + 1) / width) * A_TP / MAX_TP
            if w not in best or value > best[w]:
                if w not in best:
                    result.first_hits.append(i)
                best[w] = value
        else:
            pos = 3.0 if prev_right is None else abs(prev_right - i) / max(prev_width - 1.0, 1.0)
            result.raw += scaled_sigmoid(pos) * abs(A_FP)  # the sigmoid is negative past a window
            result.fp += 1
    for k in scorable:
        if k in best:
            result.raw += max(best[k], A_FN)
            result.tp += 1
        else:
            result.raw += A_FN
            result.fn += 1
    result.windows = len(scorable)
    return result


def normalised(results: Sequence[SeriesScore]) -> float:
    """Corpus score: 0 = the null detector (all windows missed), 100 = every window caught at its left edge."""
    raw = sum(r.raw for r in results)
    n_windows = sum(r.windows for r in results)
    if n_windows == 0:
        return 100.0 if raw >= 0 else 0.0
    null, perfect = A_FN * n_windows, A_TP * n_windows
    return 100.0 * (raw - null) / (perfect - null)
