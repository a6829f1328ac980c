"""The fp32 torch runtime of a bundle (LEPTON_RUNTIME=torch, explain, the model bench): training-side.

Workers serve the int8 ONNX export (onnx_runtime.py); this module, and torch with it, loads only where the
torch runtime is asked for, and needs the 'train' extra.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from torch import nn

from lepton_stream.models import bundle
from lepton_stream.models.base import TaskPredictions, base_model_path
from lepton_stream.models.batching import BucketedBatcher, to_predictions
from lepton_stream.models.encoder import EncoderWithHeads, load_encoder
from lepton_stream.models.tokenizer import bundle_tokenizer


def encoder_path(root: Path, manifest: bundle.Manifest) -> Path:
    """The folder of the bundle's encoder (weights, config and transformers tokenizer)."""
    return base_model_path() if manifest.encoder == "package" else root / manifest.encoder


def set_threads(threads: int) -> None:
    torch.set_num_threads(threads or os.cpu_count() or 1)


def build_module(root: Path, manifest: bundle.Manifest) -> EncoderWithHeads:
    enc_path = encoder_path(root, manifest)
    weights = load_file(str(root / bundle.HEADS))
    heads = {}
    for task, spec in manifest.tasks.items():
        w, b = weights[f"{task}.weight"], weights[f"{task}.bias"]
        if w.shape[0] != len(spec.labels):
            raise bundle.BundleError(f"{root}: head {task} has {w.shape[0]} outputs for {len(spec.labels)} labels")
        head = nn.Linear(w.shape[1], w.shape[0])
        head.load_state_dict({"weight": w, "bias": b})
        heads[task] = head
    return EncoderWithHeads(load_encoder(enc_path), heads).eval()


class TorchModel:
    """fp32 torch runtime of a bundle."""

    def __init__(self, root: Path, batch_size: int = 64, manifest: bundle.Manifest | None = None):
        self.manifest = manifest or bundle.verify(root)
        self.version = self.manifest.version
        self.tasks = tuple(self.manifest.tasks)
        self.module = build_module(root, self.manifest)
        self.batcher = BucketedBatcher(bundle_tokenizer(root, self.manifest), self.manifest.max_length, batch_size)

    def logits(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        return self.logits_and_pooled(texts, ())[0]

    @torch.inference_mode()
    def logits_and_pooled(self, texts: Sequence[str], layers: Sequence[int] = (-1,)
                          ) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
        """Each head's logits and the mean-pooled outputs of `layers` (rows x hidden each; -1 = the last
        layer, what the heads read), from one pass: a teacher's distillation targets."""
        logits = {t: np.zeros((len(texts), len(s.labels)), np.float32) for t, s in self.manifest.tasks.items()}
        wanted = [*layers, -1]  # the heads read the last layer's
        pooled = [np.zeros((len(texts), self.module.encoder.config.hidden_size), np.float32) for _ in layers]
        for idx, ids, mask in self.batcher.batches(texts):
            *embs, last = self.module.embed_layers(torch.from_numpy(ids), torch.from_numpy(mask), wanted)
            for out, emb in zip(pooled, embs, strict=True):
                out[idx] = emb.numpy()
            for task, head in zip(self.tasks, self.module.heads, strict=True):
                logits[task][idx] = head(last).numpy()
        return logits, pooled

    def predict(self, texts: Sequence[str]) -> list[TaskPredictions]:
        if not texts:
            return []
        return to_predictions(self.manifest, self.logits(texts))
