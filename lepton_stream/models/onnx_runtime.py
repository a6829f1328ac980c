"""ONNX export, int8 dynamic quantization and the onnxruntime serving path of a bundle.

Export uses keyword inputs, the legacy (non-dynamo) exporter at opset 17 and eager attention: that graph
quantizes cleanly. Quantizing only MatMul, per channel, keeps embeddings much closer to fp32 than the
defaults (docs/design.md §4) at the same speed.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from lepton_stream.models import bundle
from lepton_stream.models.base import TaskPredictions
from lepton_stream.models.encoder import EncoderWithHeads, load_tokenizer
from lepton_stream.models.serving import BucketedBatcher, build_module, to_predictions, tokenizer_path

INPUTS = ("input_ids", "attention_mask")


def default_threads() -> int:
    from lepton_stream.config import settings

    return settings().threads or os.cpu_count() or 1


def export_fp32(module: EncoderWithHeads, path: Path) -> None:
    """Write the fp32 graph with one output per task head, named after the task."""
    module = module.eval()
    dummy = torch.ones(2, 8, dtype=torch.long)
    outputs = list(module.task_names)
    axes = {name: {0: "batch", 1: "seq"} for name in INPUTS} | {name: {0: "batch"} for name in outputs}
    # The tracer warns about Python-side shape checks inside transformers; they are constant for this graph.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (),
            str(path),
            kwargs={"input_ids": dummy, "attention_mask": dummy},
            input_names=list(INPUTS),
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )


def quantize_int8(src: Path, dst: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # onnxruntime logs a pre-processing hint on the root logger; it does not apply to dynamic quantization.
    root_logger = logging.getLogger()
    level = root_logger.level
    root_logger.setLevel(logging.ERROR)
    try:
        quantize_dynamic(
            str(src), str(dst), op_types_to_quantize=["MatMul"], per_channel=True, weight_type=QuantType.QInt8
        )
    finally:
        root_logger.setLevel(level)


def export_bundle(root: Path, module: EncoderWithHeads | None = None) -> bundle.Manifest:
    """Add model.int8.onnx to a bundle (from its own weights unless `module` is given) and re-seal it."""
    manifest = bundle.verify(root)
    module = module if module is not None else build_module(root, manifest)
    if list(module.task_names) != list(manifest.tasks):
        raise bundle.BundleError(f"{root}: heads {module.task_names} differ from manifest {list(manifest.tasks)}")
    with tempfile.TemporaryDirectory(prefix="lepton-onnx-") as tmp:
        fp32 = Path(tmp) / "model.onnx"
        export_fp32(module, fp32)
        quantize_int8(fp32, root / bundle.ONNX_INT8)
    return bundle.seal(root, manifest)


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
        self.batcher = BucketedBatcher(
            load_tokenizer(tokenizer_path(root, self.manifest)), self.manifest.max_length, batch_size
        )
        self.bucketed = bucketed
        # Passes that run at once. "intra": one thread runs them one after the other (each split by
        # onnxruntime), still in the background of the worker's loop.
        self.lanes = self.threads if self.parallel == "passes" else 1
        self.pool = ThreadPoolExecutor(self.lanes, "onnx")

    def _batches(self, texts: Sequence[str]):
        if self.bucketed:
            yield from self.batcher.batches(texts, parts=self.lanes)
            return
        # Unsorted batches in arrival order: only for the benchmark's comparison.
        bs = self.batcher.batch_size
        for s in range(0, len(texts), bs):
            idx = list(range(s, min(s + bs, len(texts))))
            enc = self.batcher.tokenizer(
                [texts[i] for i in idx], truncation=True, max_length=self.manifest.max_length,
                padding=True, return_tensors="np",
            )
            yield idx, enc["input_ids"].astype(np.int64), enc["attention_mask"].astype(np.int64)

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
