"""`evaluate`: a bundle's figures on a `text,label` CSV whose labels are the task's label names."""

from __future__ import annotations

import time
from pathlib import Path

from lepton_stream.models import bundle
from lepton_stream.models.base import OUT_OF_SCOPE
from lepton_stream.models.samples import read_csv, resolve_data, split_of
from lepton_stream.models.serving import load_model
from lepton_stream.tooling.training.metrics import classification_report


def served_labels(preds: list, task: str) -> list[str]:
    """The served answers: an intent under its reject threshold counts as `oos`."""
    return [OUT_OF_SCOPE if getattr(p[task], "out_of_scope", False) else p[task].label for p in preds]


def evaluate(root: Path, task: str, data: Path | str, runtime: str = "onnx", batch_size: int = 64,
             split: str | None = None, figures_prior: float | None = None) -> dict:
    """The report (n, accuracy, macro-F1, per-label F1/precision/recall) and speed. `data` may name a shipped
    development set (`news-sentences`); `split` keeps one fixed half of it; `figures_prior` adds a second
    report, `with_figures_prior`, of the same predictions with the figures prior applied."""
    model = load_model(root, runtime, batch_size)
    if task not in model.tasks:
        raise bundle.BundleError(f"{root} serves {list(model.tasks)}, not {task}")
    data = resolve_data(data)
    texts, gold = read_csv(data)
    if split:
        keep = [i for i, t in enumerate(texts) if split_of(t) == split]
        texts, gold = [texts[i] for i in keep], [gold[i] for i in keep]
    labels = model.manifest.tasks[task].labels
    unknown = sorted(set(gold) - set(labels) - {OUT_OF_SCOPE})
    if unknown:
        raise ValueError(f"{data}: labels not in the bundle's {task} labels: {unknown[:5]}")
    model.predict(texts[:8])  # warm-up, so the first batch's allocations do not count
    started = time.perf_counter()
    preds = model.predict(texts)
    seconds = time.perf_counter() - started
    pred = served_labels(preds, task)
    names = labels + ([OUT_OF_SCOPE] if OUT_OF_SCOPE not in labels else [])
    report = classification_report(gold, pred, names)
    head = {"task": task, "model": str(root), "version": model.version, "runtime": runtime, "data": str(data)}
    if split:
        head["split"] = split
    speed = {"seconds": round(seconds, 2), "texts_per_s": round(len(texts) / seconds, 1) if seconds else None}
    extra = {}
    if figures_prior is not None:
        extra["with_figures_prior"] = _with_prior(preds, task, labels, texts, gold, figures_prior, names)
    return head | report | speed | extra


def _with_prior(preds, task: str, labels: list[str], texts: list[str], gold: list[str], strength: float,
                names: list[str]) -> dict:
    """The same predictions with the figures prior applied as the news worker applies it (figures.prior_scores)."""
    from lepton_stream.models.figures import direction, prior_scores

    if len(labels) > 5:
        raise ValueError(f"{task}: the figures prior needs every label's score (at most 5 labels)")
    signals = [direction(t) for t in texts]
    pred = []
    for p, signal in zip(preds, signals, strict=True):
        scores = prior_scores(p[task].scores, signal, strength)
        pred.append(max(labels, key=scores.__getitem__))
    counts = {"better": signals.count(1), "worse": signals.count(-1)}
    return {"strength": strength, "signals": counts} | classification_report(gold, pred, names)
