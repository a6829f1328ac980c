"""`evaluate`: a bundle's figures on a `text,label` CSV whose labels are the task's label names."""

from __future__ import annotations

import time
from pathlib import Path

from lepton_stream.models import bundle
from lepton_stream.models.base import OUT_OF_SCOPE
from lepton_stream.models.samples import read_csv
from lepton_stream.models.serving import load_model
from lepton_stream.tooling.training.metrics import classification_report


def predicted_labels(model, task: str, texts: list[str]) -> list[str]:
    """The served answer: an intent under its reject threshold counts as `oos`."""
    out = []
    for p in model.predict(texts):
        pred = p[task]
        out.append(OUT_OF_SCOPE if getattr(pred, "out_of_scope", False) else pred.label)
    return out


def evaluate(root: Path, task: str, data: Path, runtime: str = "onnx", batch_size: int = 64) -> dict:
    model = load_model(root, runtime, batch_size)
    if task not in model.tasks:
        raise bundle.BundleError(f"{root} serves {list(model.tasks)}, not {task}")
    texts, gold = read_csv(data)
    labels = model.manifest.tasks[task].labels
    unknown = sorted(set(gold) - set(labels) - {OUT_OF_SCOPE})
    if unknown:
        raise ValueError(f"{data}: labels not in the bundle's {task} labels: {unknown[:5]}")
    model.predict(texts[:8])  # warm-up, so the first batch's allocations do not count
    started = time.perf_counter()
    pred = predicted_labels(model, task, texts)
    seconds = time.perf_counter() - started
    report = classification_report(gold, pred, labels + ([OUT_OF_SCOPE] if OUT_OF_SCOPE not in labels else []))
    head = {"task": task, "model": str(root), "version": model.version, "runtime": runtime, "data": str(data)}
    speed = {"seconds": round(seconds, 2), "texts_per_s": round(len(texts) / seconds, 1) if seconds else None}
    return head | report | speed
