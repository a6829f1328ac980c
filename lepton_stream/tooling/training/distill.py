"""Distillation: the student's losses against a teacher, and the teacher's outputs they are computed from.

- Logits (Hinton et al. 2015): (1 - alpha) x cross-entropy on the hard labels + alpha x T^2 x KL(teacher ||
  student) at temperature T; unlabelled texts (no hard label) add only the KL term.
- Pooled embeddings: three logits say little about a text; with `TrainConfig.distill_hidden` > 0 the student
  also matches the teacher's pooled embedding, what the teacher's head reads (768 numbers for mpnet), through
  a linear map trained alongside and dropped after: + distill_hidden x (1 - cosine) on every row (as TinyBERT
  and FitNets match hidden states; the cosine ignores the embeddings' scale).
- Inner layers: with `TrainConfig.distill_layers` > 0 each of the student's inner layers matches the teacher's
  layer at the same relative depth the same way (mean-pooled, a linear map each; PKD-skip, Sun et al. 2019:
  a 6-layer student's layers 1-5 learn from a 12-layer teacher's 2, 4, 6, 8 and 10), + distill_layers x
  the mean of their cosine distances.
- Every target comes from one fp32 pass of the teacher, cached on disk by teacher version and text
  (soft_labels.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from lepton_stream.models import bundle
from lepton_stream.tooling.training.soft_labels import Store, cached_rows


class TeacherOutputs(NamedTuple):
    logits: np.ndarray  # rows x labels, in the caller's label order
    pooled: np.ndarray | None  # rows x the teacher's width (its last layer, what its heads read), where asked for
    inner: dict[int, np.ndarray]  # student layer -> the paired teacher layer's pooled rows, where asked for
    version: str  # the teacher bundle's version
    from_cache: int  # how many of the texts the cache answered


def layer_pairs(student: int, teacher: int) -> list[tuple[int, int]]:
    """(student layer, teacher layer) for each of the student's inner layers: the teacher's layer at the same
    relative depth (PKD-skip). Layer 0 is the embeddings; the last layers meet through `pooled`."""
    return [(s, s * teacher // student) for s in range(1, student)]


def teacher_outputs(teacher: Path, task: str, labels: list[str], texts: Sequence[str], threads: int = 1,
                    batch_size: int = 64, cache: Path | None = None, pooled: bool = False,
                    student_layers: int = 0) -> TeacherOutputs:
    """A teacher bundle's fp32 logits for `texts` (columns in `labels`' order); with `pooled`, its mean-pooled
    embeddings, what its heads read; with `student_layers` (the student's depth), the pooled outputs of the
    teacher layers `layer_pairs` gives: one pass of the teacher for all. Any recipe and encoder (MiniLM,
    mpnet), read with its own tokenizer and max_length. With a `cache` folder, texts the teacher read before
    are taken from `<cache>/<version>-<task>.npz`, `<version>-<task>-pooled.npz` and `...-pooled-<layer>.npz`
    (float16; `soft_labels.py`), and the teacher is loaded only if some are new."""
    from lepton_stream.models.torch_serving import TorchModel, encoder_path

    manifest = bundle.verify(teacher)  # the version names the cache file: trust it only for the files it hashes
    if task not in manifest.tasks:
        raise ValueError(f"teacher {teacher} serves {list(manifest.tasks)}, not {task}")
    theirs = manifest.tasks[task].labels
    if sorted(theirs) != sorted(labels):
        raise ValueError(f"teacher {teacher}: {task} labels {theirs} differ from the data's {labels}")
    config = json.loads((encoder_path(teacher, manifest) / "config.json").read_text())
    pairs = layer_pairs(student_layers, config["num_hidden_layers"]) if student_layers else []
    layers = ([-1] if pooled else []) + [t for _, t in pairs]

    def store(suffix: str, width: int, dtype: type = np.float32) -> Store:
        return Store(cache / f"{manifest.version}-{task}{suffix}.npz" if cache is not None else None, width, dtype)

    stores = [store("", len(theirs))] + [store("-pooled" if j == -1 else f"-pooled-{j}", config["hidden_size"],
                                               np.float16) for j in layers]
    model: list[TorchModel] = []  # loaded on the first texts the cache does not hold

    def compute(todo: list[str]) -> list[np.ndarray]:
        if not model:
            torch.set_num_threads(threads)
            model.append(TorchModel(teacher, batch_size, manifest))
        logits, embedded = model[0].logits_and_pooled(todo, layers)
        return [logits[task], *embedded]

    rows, from_cache = cached_rows(stores, list(texts), compute)
    order = [theirs.index(lab) for lab in labels]
    inner = {s: rows[1 + pooled + i] for i, (s, _) in enumerate(pairs)}
    return TeacherOutputs(rows[0][:, order], rows[1] if pooled else None, inner, manifest.version, from_cache)


def distill_loss(logits: torch.Tensor, targets: torch.Tensor, teacher: torch.Tensor | None, ce: nn.Module,
                 alpha: float, temperature: float) -> torch.Tensor:
    """Cross-entropy on the rows with a hard label (target >= 0) mixed with the temperature-softened KL to the
    teacher on every row: (1 - alpha) CE + alpha T^2 KL. Without a teacher: the cross-entropy alone."""
    hard = targets >= 0
    ce_term = ce(logits[hard], targets[hard]) if bool(hard.any()) else logits.sum() * 0.0
    if teacher is None:
        return ce_term
    t = temperature
    kl = nn.functional.kl_div(nn.functional.log_softmax(logits / t, dim=-1),
                              nn.functional.log_softmax(teacher / t, dim=-1), reduction="batchmean",
                              log_target=True) * t * t
    return (1 - alpha) * ce_term + alpha * kl


def hidden_loss(projected: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Mean cosine distance between the student's projected pooled embeddings and the teacher's."""
    return (1 - nn.functional.cosine_similarity(projected, teacher, dim=-1)).mean()
