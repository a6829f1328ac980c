"""`kg eval`: precision and recall of entity linking on the labelled set shipped in data/kg/linking_eval.csv.

CSV header `text,entities`; entities are the expected ids, space-separated (empty: the sentence names none).
Scoring is per sentence on the set of linked ids: a missed id is a false negative, an extra id a false positive.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

from lepton_stream.kg.graph import KnowledgeGraph
from lepton_stream.kg.io import SEED_DIR

EVAL_SET = SEED_DIR / "linking_eval.csv"


def load_eval(path: Path = EVAL_SET) -> list[tuple[str, set[str]]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return [(r["text"], set((r["entities"] or "").split())) for r in csv.DictReader(fh)]


def evaluate(kg: KnowledgeGraph, path: Path = EVAL_SET, show_errors: bool = False) -> dict:
    rows = load_eval(path)
    tp = fp = fn = 0
    errors = []
    t0 = time.perf_counter()
    for text, gold in rows:
        pred = {m.id for m in kg.link(text)}
        tp += len(pred & gold)
        fp += len(pred - gold)
        fn += len(gold - pred)
        if pred != gold:
            errors.append({"text": text, "missed": sorted(gold - pred), "extra": sorted(pred - gold)})
    elapsed = time.perf_counter() - t0
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    out = {
        "sentences": len(rows),
        "negatives": sum(1 for _, g in rows if not g),
        "gold_mentions": tp + fn,
        "precision": round(p, 4),
        "recall": round(r, 4),
        "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
        "tp": tp, "fp": fp, "fn": fn,
        "texts_per_s": round(len(rows) / elapsed, 1) if elapsed else None,
        "graph_version": kg.version,
        "targets": {"precision": 0.95, "recall": 0.90},
    }
    if show_errors:
        out["errors"] = errors
    return out
