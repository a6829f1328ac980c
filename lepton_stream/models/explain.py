"""Occlusion explanations over the fp32 model: which words drove a prediction.

Each word is removed in turn and the drop in the predicted label's logit margin (its logit minus the best
other label's) is its weight: unlike the probability, the margin does not saturate, so a confident
prediction backed by several words still ranks them instead of showing zeros. All the
occluded variants go through one batched forward pass. Words (not sub-word pieces) keep the output
readable in alerts. Called only where an explanation is asked for, never for every message.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import numpy as np

from lepton_stream.models import bundle
from lepton_stream.models.torch_serving import TorchModel

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


def _margin(logits: np.ndarray, k: int) -> np.ndarray:
    others = np.delete(logits, k, axis=1)
    return logits[:, k] - (others.max(1) if others.shape[1] else 0.0)


def explain(root: Path, task: str, text: str, top_k: int = 5) -> dict:
    model = _model(Path(root))
    if task not in model.tasks:
        raise bundle.BundleError(f"{root} serves {list(model.tasks)}, not {task}")
    spans = [m for m in WORD.finditer(text)][:MAX_WORDS]
    variants = [text] + [text[: m.start()] + text[m.end() :] for m in spans]
    logits = model.logits(variants)[task]
    labels = model.manifest.tasks[task].labels
    k = int(logits[0].argmax())
    margin = _margin(logits, k)
    weights = margin[0] - margin[1:]  # how much the label's lead shrinks without the word
    ranked = sorted(zip((m.group() for m in spans), weights.tolist(), strict=True), key=lambda x: -x[1])
    return {
        "task": task,
        "label": labels[k],
        "confidence": round(float(1 / np.exp(logits[0] - logits[0, k]).sum()), 4),
        "tokens": [{"token": w, "weight": round(v, 4)} for w, v in ranked[:top_k]],
        "version": model.version,
    }


def explain_tokens(model_root: Path, task: str, text: str, top_k: int = 5) -> list[str]:
    """The words that most supported the predicted label (positive weight only), strongest first."""
    return [t["token"] for t in explain(model_root, task, text, top_k)["tokens"] if t["weight"] > 0]
