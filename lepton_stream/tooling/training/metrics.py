"""Classification figures shared by training, `evaluate` and the tests (no sklearn dependency)."""

from __future__ import annotations

from collections.abc import Sequence

from lepton_stream.models.base import OUT_OF_SCOPE


def classification_report(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str] | None = None) -> dict:
    """n, accuracy, macro-F1 over the labels present in gold or pred, per-label F1/precision/recall/support."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold labels for {len(pred)} predictions")
    names = sorted(set(gold) | set(pred)) if labels is None else [x for x in labels if x in set(gold) | set(pred)]
    per: dict[str, dict[str, float]] = {}
    for lab in names:
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == lab and p == lab)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if g != lab and p == lab)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if g == lab and p != lab)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per[lab] = {"f1": round(f1, 4), "precision": round(prec, 4), "recall": round(rec, 4), "support": tp + fn}
    n = len(gold)
    acc = sum(1 for g, p in zip(gold, pred, strict=True) if g == p) / n if n else 0.0
    macro = sum(v["f1"] for v in per.values()) / len(per) if per else 0.0
    report: dict = {"n": n, "accuracy": round(acc, 4), "macro_f1": round(macro, 4), "per_label": per}
    if OUT_OF_SCOPE in set(gold):
        ins = [(g, p) for g, p in zip(gold, pred, strict=True) if g != OUT_OF_SCOPE]
        report["oos_recall"] = per[OUT_OF_SCOPE]["recall"]
        report["in_scope_accuracy"] = round(sum(g == p for g, p in ins) / len(ins), 4) if ins else None
    return report


def macro_f1(gold_idx, pred_idx, n_labels: int) -> float:
    """Macro-F1 over the classes present in gold or pred, on index arrays (fast enough for a search loop)."""
    import numpy as np

    cm = np.bincount(gold_idx * n_labels + pred_idx, minlength=n_labels * n_labels).reshape(n_labels, n_labels)
    tp = np.diag(cm).astype(float)
    support, predicted = cm.sum(1), cm.sum(0)
    present = (support + predicted) > 0
    f1 = np.divide(2 * tp, support + predicted, out=np.zeros_like(tp), where=present)
    return float(f1[present].mean()) if present.any() else 0.0
