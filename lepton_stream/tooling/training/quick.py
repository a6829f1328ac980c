"""The quick recipe: frozen base encoder + linear heads fitted on its embeddings (seconds, not minutes).

It serves the demo and the tests until a fine-tuned bundle exists; it is a real model with the same
bundle format and serving path as the fine-tuned ones.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn

from lepton_stream.models import bundle
from lepton_stream.models.base import OUT_OF_SCOPE
from lepton_stream.models.batching import BucketedBatcher
from lepton_stream.models.encoder import (
    BASE_MODEL,
    EncoderWithHeads,
    base_model_path,
    load_encoder,
)
from lepton_stream.models.samples import SAMPLES, read_csv, read_csvs  # noqa: F401 (re-exported)
from lepton_stream.models.tokenizer import TOKENIZER_FILE, TextTokenizer

QUICK_OOS_THRESHOLD = 0.25
MAX_LENGTH = 64


@torch.no_grad()
def embed(encoder: EncoderWithHeads, batcher: BucketedBatcher, texts: list[str]) -> torch.Tensor:
    out = torch.zeros(len(texts), encoder.encoder.config.hidden_size)
    for idx, ids, mask in batcher.batches(texts):
        out[idx] = encoder.embed(torch.from_numpy(ids), torch.from_numpy(mask))
    return out


def fit_head(x: torch.Tensor, y: torch.Tensor, n_labels: int, epochs: int = 300) -> nn.Linear:
    """Multinomial logistic regression with balanced class weights and a little L2."""
    head = nn.Linear(x.shape[1], n_labels)
    counts = torch.bincount(y, minlength=n_labels).float().clamp(min=1)
    loss_fn = nn.CrossEntropyLoss(weight=counts.sum() / (n_labels * counts))
    opt = torch.optim.Adam(head.parameters(), lr=0.05, weight_decay=1e-4)
    for _ in range(epochs):
        opt.zero_grad()
        loss_fn(head(x), y).backward()
        opt.step()
    return head


def kind_tasks(kind: str) -> dict[str, Path]:
    """The tasks a worker kind's bundle serves and the shipped sample each head is fitted on (its Kind's)."""
    import workers  # tooling reads the registry; nothing the worker serves imports this module

    return dict(workers.get(kind).tasks)


def build_quick_bundle(
    kind: str, out: Path, limit_per_label: int | None = None, seed: int = 0, export_int8: bool = True,
    samples: dict[str, Path] | None = None,
) -> bundle.Manifest:
    """Fit the heads for one worker kind and write a sealed bundle to `out` (with its int8 ONNX export);
    `samples` (task -> text,label CSV) defaults to the kind's tasks."""
    torch.manual_seed(seed)
    started = time.perf_counter()
    base = base_model_path()
    encoder = EncoderWithHeads(load_encoder(base), {}).eval()
    batcher = BucketedBatcher(TextTokenizer(base / TOKENIZER_FILE), MAX_LENGTH, 64)
    tasks: dict[str, bundle.TaskSpec] = {}
    tensors: dict[str, torch.Tensor] = {}
    heads: dict[str, nn.Linear] = {}
    metrics: dict[str, float] = {}
    for task, path in (samples if samples is not None else kind_tasks(kind)).items():
        texts, labels = read_csv(path, limit_per_label, seed)
        names = sorted(set(labels))
        y = torch.tensor([names.index(lab) for lab in labels])
        x = embed(encoder, batcher, texts)
        head = fit_head(x, y, len(names))
        with torch.no_grad():
            metrics[f"{task}.train_accuracy"] = float((head(x).argmax(1) == y).float().mean())
        threshold = QUICK_OOS_THRESHOLD if OUT_OF_SCOPE in names else None
        tasks[task] = bundle.TaskSpec(labels=names, oos_threshold=threshold)
        heads[task] = head
        tensors[f"{task}.weight"] = head.weight.detach().contiguous()
        tensors[f"{task}.bias"] = head.bias.detach().contiguous()
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.iterdir():
        if stale.is_file():
            stale.unlink()
    save_file(tensors, str(out / bundle.HEADS))
    # The bundle carries its tokenizer, so serving it needs neither transformers nor the base encoder's package.
    shutil.copyfile(base / TOKENIZER_FILE, out / TOKENIZER_FILE)
    metrics["fit_seconds"] = round(time.perf_counter() - started, 2)
    manifest = bundle.Manifest(
        name=kind, tasks=tasks, base_model=BASE_MODEL, max_length=MAX_LENGTH, recipe="quick", metrics=metrics
    )
    manifest = bundle.seal(out, manifest)
    if export_int8:
        from lepton_stream.tooling.training.export import export_bundle

        manifest = export_bundle(out, EncoderWithHeads(encoder.encoder, heads).eval())
    return manifest


def ensure_bundles(models_dir: Path, kinds: tuple[str, ...] | None = None) -> dict[str, Path]:
    """Build a quick bundle for each kind that has none yet (the demo's path on a fresh machine); by default
    every registered kind that serves a bundle."""
    if kinds is None:
        import workers

        kinds = tuple(k.kind for k in workers.kinds() if k.tasks and k.model is None)
    paths = {}
    for kind in kinds:
        root = models_dir / kind
        if not (root / bundle.MANIFEST).is_file():
            build_quick_bundle(kind, root)
        elif bundle.ONNX_INT8 not in bundle.read_manifest(root).files:
            # Bundles made before the int8 export existed: add it, since onnx is the default runtime.
            from lepton_stream.tooling.training.export import export_bundle

            export_bundle(root)
        paths[kind] = root
    return paths


def accuracy(model, texts: list[str], labels: list[str], task: str) -> float:
    preds = model.predict(texts)
    return float(np.mean([p[task].label == lab for p, lab in zip(preds, labels, strict=True)]))
