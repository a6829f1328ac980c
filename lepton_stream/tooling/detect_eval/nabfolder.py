"""NAB-layout folders (`data/<category>/*.csv`, `labels/combined_windows.json`) scored with NAB's three profiles.

This follows the published NAB rules as the shared `nab_score.py` tool applies them, so `detect-eval` prints
the same figures: labelled windows as given (not rebuilt from labels), a probationary first 15% (at most 750
rows) whose rows count for nothing and whose windows are dropped, the scaled sigmoid reward of the first
detection in a window, false positives weighted by a sigmoid of their distance past the previous window
(-A_FP before any window), -A_FN per missed window, normalised so null = 0 and perfect = 100. A category
without windows (artificialNoAnomaly) can only lose: its raw penalty is reported instead.

Values are read as the tool passes them to a detector (`%g`, six significant digits), so an in-process run
sees exactly what `detect-series` sees under the tool.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

PROFILES: dict[str, dict[str, float]] = {
    "standard": {"tp": 1.0, "fn": 1.0, "fp": 0.11},
    "reward_low_FP_rate": {"tp": 1.0, "fn": 1.0, "fp": 0.22},
    "reward_low_FN_rate": {"tp": 1.0, "fn": 2.0, "fp": 0.11},
}


def scaled_sigmoid(x: float) -> float:
    return -1.0 if x > 3.0 else 2.0 / (1.0 + math.exp(5.0 * x)) - 1.0


@dataclass
class NabSeries:
    rel: str  # "<category>/<file>.csv"
    stamps: list[str]  # timestamps as written (fraction of a second dropped)
    values: list[float]
    windows: list[tuple[str, str]]

    @property
    def category(self) -> str:
        return self.rel.split("/", 1)[0]


def _norm_ts(s: str) -> str:
    return s.strip().split(".")[0]


def load_folder(root: Path, categories: Iterable[str] | None = None) -> list[NabSeries]:
    """Every series of a NAB-layout folder (or of the given categories), in category/file order."""
    root = Path(root)
    labels = json.loads((root / "labels" / "combined_windows.json").read_text())
    cats = sorted(categories) if categories else sorted(p.name for p in (root / "data").iterdir() if p.is_dir())
    out: list[NabSeries] = []
    for cat in cats:
        for path in sorted((root / "data" / cat).glob("*.csv")):
            rel = f"{cat}/{path.name}"
            lines = path.read_text().splitlines()[1:]
            stamps = [_norm_ts(line.split(",")[0]) for line in lines]
            values = [float(f"{float(line.split(',')[1]):g}") for line in lines]
            wins = [(_norm_ts(a), _norm_ts(b)) for a, b in labels.get(rel, [])]
            out.append(NabSeries(rel, stamps, values, wins))
    return out


def _row_weights(s: NabSeries, w: dict[str, float]) -> tuple[list[int], list[float]]:
    """Per row: kind (-2 probationary, -1 outside every window, k >= 0 inside window k) and the weight a
    detection there earns (a window's reward, or a false positive's penalty)."""
    n = len(s.stamps)
    prob = min(math.floor(0.15 * n), 0.15 * 5000)
    index = {t: i for i, t in enumerate(s.stamps)}
    spans = [(index[a], index[b]) for a, b in s.windows]
    max_tp = scaled_sigmoid(-1.0)
    kinds: list[int] = []
    weights: list[float] = []
    prev_right: int | None = None
    prev_width = 0.0
    wi = 0
    cur: tuple[int, int, int] | None = None
    for i in range(n):
        if cur is None and wi < len(spans) and i == spans[wi][0]:
            cur = (wi, spans[wi][0], spans[wi][1])
            wi += 1
        if cur is not None:
            k, left, right = cur
            weight = scaled_sigmoid(-(right - i + 1) / float(right - left + 1)) * w["tp"] / max_tp
        else:
            k = -1
            if prev_right is None:
                weight = -w["fp"]
            else:
                weight = scaled_sigmoid(abs(prev_right - i) / float(prev_width - 1)) * w["fp"]
        kinds.append(-2 if i < prob else k)
        weights.append(weight)
        if cur is not None and i == cur[2]:
            prev_right, prev_width = cur[2], float(cur[2] - cur[1] + 1)
            cur = None
    return kinds, weights


def raw_score(s: NabSeries, alerts: list[bool], w: dict[str, float]) -> tuple[float, int]:
    """(raw score, scorable windows) of one series under one profile."""
    kinds, weights = _row_weights(s, w)
    fp = 0.0
    best: dict[int, float] = {}
    for hit, k, weight in zip(alerts, kinds, weights, strict=True):
        if not hit or k == -2:
            continue
        if k == -1:
            fp += weight
        elif k not in best or weight > best[k]:
            best[k] = weight
    names = {k for k in kinds if k >= 0}
    return fp + sum(best.get(k, -w["fn"]) for k in names), len(names)


def profile_scores(series: list[NabSeries], alerts: dict[str, list[bool]]) -> dict[str, float]:
    """Normalised score per profile over `series` (the raw total when they hold no window)."""
    result: dict[str, float] = {}
    for prof, w in PROFILES.items():
        total, nwin = 0.0, 0
        for s in series:
            raw, k = raw_score(s, alerts[s.rel], w)
            total += raw
            nwin += k
        if nwin:
            result[prof] = round(100.0 * (total + w["fn"] * nwin) / ((w["tp"] + w["fn"]) * nwin), 2)
        else:
            result[prof] = round(total, 3)
    return result


def report(series: list[NabSeries], scores: dict[str, list[float]], threshold: float = 0.5) -> dict[str, dict]:
    """`nab_score.py alerts`'s figures: overall ("alerts") and per category, every profile."""
    alerts = {rel: [x >= threshold for x in v] for rel, v in scores.items()}
    out = {"alerts": profile_scores(series, alerts)}
    for cat in sorted({s.category for s in series}):
        out[cat] = profile_scores([s for s in series if s.category == cat], alerts)
    return out


def run_detector(series: list[NabSeries], factory: Callable[[], object], parse: Callable[[str], float]) -> dict:
    """Scores of a fresh detector per series, each fed once in time order."""
    out: dict[str, list[float]] = {}
    for s in series:
        det = factory()
        upd = det.update  # type: ignore[attr-defined]
        out[s.rel] = [upd(parse(t), v) for t, v in zip(s.stamps, s.values, strict=True)]
    return out
