"""`lepton-stream detect-series` (CSV timestamp,value on stdin → one score per row) and `detect-eval`."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("detect-series", help="score a count series (CSV timestamp,value on stdin), causally")
    p.add_argument("--state-in", type=Path, help="resume from a detector state saved by --state-out")
    p.add_argument("--state-out", type=Path, help="write the detector state after the last row (JSON)")
    p.set_defaults(func=run_series)
    e = sub.add_parser("detect-eval", help="NAB-style score of the spike detector and a robust z baseline")
    e.add_argument("--seed", type=int, default=None, help="corpus seed (default: the development seed)")
    e.add_argument("--heldout", action="store_true", help="use the held-out corpus seed")
    e.add_argument("--series", type=int, default=100, help="number of series in the corpus")
    e.add_argument("--json", action="store_true", help="print JSON")
    e.set_defaults(func=run_eval)


def _value(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")  # blank or junk: scored 0, state untouched


def run_series(args) -> int:
    from lepton_stream.detect import SpikeDetector
    from lepton_stream.detect.calibrate import parse_timestamp

    det = SpikeDetector.from_dict(json.loads(args.state_in.read_text())) if args.state_in else SpikeDetector()
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


def run_eval(args) -> int:
    from lepton_stream.detect import SpikeDetector
    from lepton_stream.detect.evaluate import RobustZBaseline, evaluate
    from lepton_stream.detect.synth import DEV_SEED, HELDOUT_SEED, corpus

    seed = args.seed if args.seed is not None else HELDOUT_SEED if args.heldout else DEV_SEED
    series = corpus(seed, args.series)
    report = {
        "corpus": {"seed": seed, "series": len(series), "heldout": seed == HELDOUT_SEED},
        "spike_detector": evaluate(SpikeDetector, series),
        "robust_z_baseline": evaluate(RobustZBaseline, series),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for name in ("spike_detector", "robust_z_baseline"):
            r = report[name]
            print(f"{name:18s} NAB {r['nab_score']:7.2f}  windows {r['windows']}  detected {r['detected']}  "
                  f"missed {r['missed']}  false positives {r['false_positives']}")
    return 0
