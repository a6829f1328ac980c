"""Distillation: the student's losses against a teacher, and the teacher's outputs they are computed from.

- Logits (Hinton et al. 2015): (1 - alpha) x cross-entropy on the hard labels + alpha x T^2 x KL(teacher ||
  student) at temperature T; unlabelled texts (no hard label) add only the KL term.
- Pooled embeddings: three logits say little about a text; with `TrainConfig.distill_hidden` > 0 the student
  also matches the teacher's pooled embedding, what the teacher's head reads (768 numbers for mpnet), through
  a linear map trained alongside and dropped after: + distill_hidden x (1 - cosine) on every row (as TinyBERT
  and FitNets match hidden states; the cosine ignores the embeddings' scale).
- Both targets come from one fp32 pass of the teacher, cached on disk by teacher version and text
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
    pooled: np.ndarray | None  # rows x the teacher's width, where asked for
    version: str  # the teacher bundle's version
    from_cache: int  # how many of the texts the cache answered


def teacher_outputs(teacher: Path, task: str, labels: list[str], texts: Sequence[str], threads: int = 1,
                    batch_size: int = 64, cache: Path | None = None, pooled: bool = False) -> TeacherOutputs:
    """A teacher bundle's fp32 logits for `texts` (columns in `labels`' order) and, with `pooled`, its
    mean-pooled embeddings, what its heads read: one pass of the teacher for both. Any recipe and encoder
    (MiniLM, mpnet), read with its own tokenizer and max_length. With a `cache` folder, texts the teacher
    read before are taken from `<cache>/<version>-<task>.npz` and `<version>-<task>-pooled.npz` (float16;
    `soft_labels.py`), and the teacher is loaded only if some are new."""
    from lepton_stream.models.torch_serving import TorchModel, encoder_path

    manifest = bundle.verify(teacher)  # the version names the cache file: trust it only for the files it hashes
    if task not in manifest.tasks:
        raise ValueError(f"teacher {teacher} serves {list(manifest.tasks)}, not {task}")
    theirs = manifest.tasks[task].labels
    if sorted(theirs) != sorted(labels):
        raise ValueError(f"teacher {teacher}: {task} labels {theirs} differ from the data's {labels}")

    def store(suffix: str, width: int, dtype: type = np.float32) -> Store:
        return Store(cache / f"{manifest.version}-{task}{suffix}.npz" if cache is not None else None, width, dtype)

    stores = [store("", len(theirs))]
    if pooled:
        width = json.loads((encoder_path(teacher, manifest) / "config.json").read_text())["hidden_size"]
        stores.append(store("-pooled", width, np.float16))
    model: list[TorchModel] = []  # loaded on the first texts the cache does not hold

    def compute(todo: list[str]) -> list[np.ndarray]:
        if not model:
            torch.set_num_threads(threads)
            model.append(TorchModel(teacher, batch_size, manifest))
        logits, embedded = model[0].logits_and_pooled(todo)
        return [logits[task], embedded][:len(stores)]

    rows, from_cache = cached_rows(stores, list(texts), compute)
    order = [theirs.index(lab) for lab in labels]
    return TeacherOutputs(rows[0][:, order], rows[1] if pooled else None, manifest.version, from_cache)


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
