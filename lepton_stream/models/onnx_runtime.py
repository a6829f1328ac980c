"""The onnxruntime serving path of a bundle: the int8 export, tokenized by `tokenizers`, no torch.

The export itself (torch, the 'train' extra) is tooling/training/export.py.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from lepton_stream.models import bundle
from lepton_stream.models.base import TaskPredictions
from lepton_stream.models.batching import BucketedBatcher, to_predictions
from lepton_stream.models.tokenizer import bundle_tokenizer


def default_threads() -> int:
    from lepton_stream.config import settings

    return settings().threads or os.cpu_count() or 1


class OnnxModel:
    """int8 onnxruntime runtime of a bundle: same batching, heads and predictions as TorchModel."""

    def __init__(
        self,
        root: Path,
        batch_size: int = 64,
        manifest: bundle.Manifest | None = None,
        threads: int | None = None,
        bucketed: bool = True,
        parallel: str = "passes",
    ):
        """parallel="passes" (default): `threads` single-threaded forward passes run at once, one length
        group each; "intra": one pass at a time, split across `threads` by onnxruntime (the bench compares)."""
        import onnxruntime as ort

        self.manifest = manifest or bundle.verify(root)
        self.version = self.manifest.version
        self.tasks = tuple(self.manifest.tasks)
        path = root / bundle.ONNX_INT8
        if bundle.ONNX_INT8 not in self.manifest.files or not path.is_file():
            raise bundle.BundleError(
                f"{root}: no {bundle.ONNX_INT8} in this bundle; export one with "
                f"`lepton-stream models export {root}` or serve it with LEPTON_RUNTIME=torch"
            )
        opts = ort.SessionOptions()
        self.threads = threads or default_threads()
        self.parallel = parallel if self.threads > 1 else "intra"
        # Separate passes need no synchronisation inside an operator, where onnxruntime's threads wait
        # for each other: 2-20 % more texts/s on 2 cores (bench runs), and the worker's Python stages can take a core
        # for a while without stalling a pass half-done on the other.
        opts.intra_op_num_threads = 1 if self.parallel == "passes" else self.threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        found = [o.name for o in self.session.get_outputs()]
        if sorted(found) != sorted(self.tasks):
            raise bundle.BundleError(f"{root}: onnx outputs {found} differ from tasks {list(self.tasks)}")
        self.outputs = list(self.tasks)  # asked for by name, in the manifest's order
        self.batcher = BucketedBatcher(bundle_tokenizer(root, self.manifest), self.manifest.max_length, batch_size)
        self.bucketed = bucketed
        # Passes that run at once. "intra": one thread runs them one after the other (each split by
        # onnxruntime), still in the background of the worker's loop.
        self.lanes = self.threads if self.parallel == "passes" else 1
        self.pool = ThreadPoolExecutor(self.lanes, "onnx")

    def _batches(self, texts: Sequence[str]):
        if self.bucketed:
            yield from self.batcher.batches(texts, parts=self.lanes)
            return
        yield from self.batcher.unsorted(texts)  # arrival order: only for the benchmark's comparison

    def _run(self, batch):
        idx, ids, mask = batch
        return idx, self.session.run(self.outputs, {"input_ids": ids, "attention_mask": mask})

    def submit(self, texts: Sequence[str]) -> Pending:
        """Tokenize now and queue the forward passes; `result()` waits for them. A worker submits the next
        micro-batch before it finishes the current one, so its passes queue right behind the current batch's
        and the threads never wait at a batch boundary for the last, shortest pass to end."""
        batches = list(self._batches(texts))
        # Largest passes first, so the last one to finish is short (the session is thread-safe).
        batches.sort(key=lambda b: -b[1].size)
        return Pending(self.manifest, len(texts), [self.pool.submit(self._run, b) for b in batches])

    def logits(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        return self.submit(texts).logits()

    def predict(self, texts: Sequence[str]) -> list[TaskPredictions]:
        if not texts:
            return []
        return self.submit(texts).result()


class Pending:
    """A micro-batch's forward passes, queued or running."""

    def __init__(self, manifest: bundle.Manifest, n: int, futures: list[Future]):
        self.manifest, self.n, self.futures = manifest, n, futures

    def logits(self) -> dict[str, np.ndarray]:
        result = {t: np.zeros((self.n, len(s.labels)), np.float32) for t, s in self.manifest.tasks.items()}
        for f in self.futures:
            idx, outs = f.result()
            for task, o in zip(self.manifest.tasks, outs, strict=True):
                result[task][idx] = o
        return result

    def result(self) -> list[TaskPredictions]:
        return to_predictions(self.manifest, self.logits())

