"""Occlusion explanations over the fp32 model: which words drove a prediction.

Each word is removed in turn and the drop in the predicted label's probability is its weight; all the
occluded variants go through one batched forward pass. Words (not sub-word pieces) keep the output
readable in alerts. Called only where an explanation is asked for, never for every message.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import numpy as np

from lepton_stream.models import bundle
from lepton_stream.models.serving import TorchModel

WORD = re.compile(r"\S+")
MAX_WORDS = 64  # longer texts: only the first words are occluded (the model reads ~64 tokens anyway)
_cache: dict[str, TorchModel] = {}
_lock = threading.Lock()


def _model(root: Path) -> TorchModel:
    """One fp32 model per bundle version, loaded on first use."""
    manifest = bundle.read_manifest(root)
    key = f"{root.resolve()}::{manifest.version}"
    with _lock:
        if key not in _cache:
            _cache.clear()  # a promoted bundle replaces the old one; keep memory bounded
            _cache[key] = TorchModel(root)
        return _cache[key]


def _probs(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(1, keepdims=True))
    return z / z.sum(1, keepdims=True)


def explain(root: Path, task: str, text: str, top_k: int = 5) -> dict:
    model = _model(Path(root))
    if task not in model.tasks:
        raise bundle.BundleError(f"{root} serves {list(model.tasks)}, not {task}")
    spans = [m for m in WORD.finditer(text)][:MAX_WORDS]
    variants = [text] + [text[: m.start()] + text[m.end() :] for m in spans]
    probs = _probs(model.logits(variants)[task])
    labels = model.manifest.tasks[task].labels
    k = int(probs[0].argmax())
    weights = probs[0, k] - probs[1:, k]  # how much the label's probability falls without the word
    ranked = sorted(zip((m.group() for m in spans), weights.tolist(), strict=True), key=lambda x: -x[1])
    return {
        "task": task,
        "label": labels[k],
        "confidence": round(float(probs[0, k]), 4),
        "tokens": [{"token": w, "weight": round(v, 4)} for w, v in ranked[:top_k]],
        "version": model.version,
    }


def explain_tokens(model_root: Path, task: str, text: str, top_k: int = 5) -> list[str]:
    """The words that most supported the predicted label (positive weight only), strongest first."""
    return [t["token"] for t in explain(model_root, task, text, top_k)["tokens"] if t["weight"] > 0]
