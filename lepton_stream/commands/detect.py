"""`lepton-stream detect-series` (CSV timestamp,value on stdin → one score per row) and `detect-eval`.

`detect-series` runs the worker's count detector (LEPTON_DETECTOR and its warm-up settings, built by
`detect.base.for_settings`), so offline scores are the ones the worker computes per subject. `detect-eval`
scores detectors on the generated corpus, or on a NAB-layout folder (`--nab DIR`) with the figures that
`nab_score.py alerts` prints, and measures CPU per update and stored state size.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("detect-series", help="score a count series (CSV timestamp,value on stdin), causally")
    p.add_argument("--state-in", type=Path, help="resume from a detector state saved by --state-out")
    p.add_argument("--state-out", type=Path, help="write the detector state after the last row (JSON)")
    p.add_argument("--detector", help="detector kind (default: LEPTON_DETECTOR, the worker's)")
    p.set_defaults(func=run_series)
    e = sub.add_parser("detect-eval", help="NAB-style scores of the count detectors (generated corpus or a NAB folder)")
    e.add_argument("--nab", type=Path, help="a NAB-layout folder (data/<category>/*.csv, labels/combined_windows.json)")
    e.add_argument("--categories", help="comma-separated categories of --nab (default: all)")
    e.add_argument("--detector", action="append", help="detector kind(s) to score (default: every kind)")
    e.add_argument("--seed", type=int, default=None, help="corpus seed (default: the development seed)")
    e.add_argument("--heldout", action="store_true", help="use the held-out corpus seed")
    e.add_argument("--series", type=int, default=100, help="number of series in the generated corpus")
    e.add_argument("--json", action="store_true", help="print JSON")
    e.set_defaults(func=run_eval)


def _value(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")  # blank or junk: scored 0, state untouched


def _worker_detector(kind: str | None):
    from lepton_stream.config import load_settings_with_secrets
    from lepton_stream.detect import base

    s = load_settings_with_secrets()  # read afresh, not the process's cached settings: the environment decides
    if kind is not None:
        s = s.model_copy(update={"detector": kind})
    return base.for_settings(s)


def run_series(args) -> int:
    from lepton_stream.detect import base
    from lepton_stream.detect.calibrate import parse_timestamp

    det = base.from_dict(json.loads(args.state_in.read_text())) if args.state_in else _worker_detector(args.detector)
    reader = csv.reader(sys.stdin)
    header = next(reader, None)
    if header is None:
        return 0
    names = [h.strip().lower() for h in header]
    ti = names.index("timestamp") if "timestamp" in names else 0
    vi = names.index("value") if "value" in names else 1
    out = sys.stdout
    for row in reader:
        if not row:
            continue
        score = det.update(parse_timestamp(row[ti]), _value(row[vi]))
        out.write(f"{score:.6g}\n")  # one number per row, rows in input order
    out.flush()
    if args.state_out:
        args.state_out.write_text(json.dumps(det.to_dict()))
    return 0


def cost(factory, timestamps: list[float], values: list[float]) -> dict[str, float]:
    """CPU per update (µs, best of 3 passes over the series) and the largest stored state seen (bytes)."""
    from lepton_stream.detect import base

    best = float("inf")
    peak = 0
    for _ in range(3):
        det = factory()
        upd = det.update
        t0 = time.process_time()
        for t, v in zip(timestamps, values, strict=True):
            upd(t, v)
        best = min(best, time.process_time() - t0)
    det = factory()
    step = max(1, len(values) // 20)
    for i, (t, v) in enumerate(zip(timestamps, values, strict=True)):
        det.update(t, v)
        if i % step == 0:
            peak = max(peak, base.state_bytes(det))
    peak = max(peak, base.state_bytes(det))
    return {"us_per_update": round(1e6 * best / max(len(values), 1), 2), "state_bytes": peak}


def eval_nab(folder: Path, kinds: list[str], categories: list[str] | None, factory_of) -> dict:
    """Per kind: `nab_score.py alerts`'s figures on a NAB-layout folder, and the cost on its longest series."""
    from lepton_stream.detect.calibrate import parse_timestamp
    from lepton_stream.tooling.detect_eval import nabfolder

    series = nabfolder.load_folder(folder, categories)
    report: dict = {"folder": str(folder), "series": len(series)}
    longest = max(series, key=lambda s: len(s.values)) if series else None
    for kind in kinds:
        scores = nabfolder.run_detector(series, factory_of(kind), parse_timestamp)
        entry = nabfolder.report(series, scores)
        if longest is not None:
            ts = [parse_timestamp(t) for t in longest.stamps]
            entry["cost"] = {"series": longest.rel, **cost(factory_of(kind), ts, longest.values)}
        report[kind] = entry
    return report


def run_eval(args) -> int:
    from lepton_stream.detect import base

    kinds = args.detector or sorted(base.DETECTORS, key=lambda k: k != base.DEFAULT)
    if args.nab:
        cats = [c.strip() for c in args.categories.split(",") if c.strip()] if args.categories else None
        report = eval_nab(args.nab, kinds, cats, lambda kind: lambda: _worker_detector(kind))
        if args.json:
            print(json.dumps(report, indent=1))
        else:
            for kind in kinds:
                print(kind)
                for name, figs in report[kind].items():
                    print(f"  {name:24s} " + "  ".join(f"{k}={v}" for k, v in figs.items()))
        return 0
    from lepton_stream.tooling.detect_eval.evaluate import RobustZBaseline, evaluate
    from lepton_stream.tooling.detect_eval.synth import DEV_SEED, HELDOUT_SEED, corpus

    seed = args.seed if args.seed is not None else HELDOUT_SEED if args.heldout else DEV_SEED
    series = corpus(seed, args.series)
    report = {"corpus": {"seed": seed, "series": len(series), "heldout": seed == HELDOUT_SEED}}
    names = []
    for kind in kinds:
        report[f"{kind}_detector"] = evaluate(lambda kind=kind: _worker_detector(kind), series)
        names.append(f"{kind}_detector")
    report["robust_z_baseline"] = evaluate(RobustZBaseline, series)
    names.append("robust_z_baseline")
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for name in names:
            r = report[name]
            print(f"{name:18s} NAB {r['nab_score']:7.2f}  windows {r['windows']}  detected {r['detected']}  "
                  f"missed {r['missed']}  false positives {r['false_positives']}")
    return 0
