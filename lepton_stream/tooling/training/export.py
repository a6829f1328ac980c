"""ONNX export and int8 dynamic quantization of a bundle (training-side: torch, onnx; the 'train' extra).

Export uses keyword inputs, the legacy (non-dynamo) exporter at opset 17 and eager attention: that graph
quantizes cleanly. Quantizing only MatMul, per channel, keeps embeddings much closer to fp32 than the
defaults (docs/design.md §4) at the same speed. Exporting also copies the tokenizer into a bundle that has
none of its own, so the exported bundle serves without the base encoder's package.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import warnings
from pathlib import Path

import torch

from lepton_stream.models import bundle
from lepton_stream.models.encoder import EncoderWithHeads
from lepton_stream.models.tokenizer import TOKENIZER_FILE, tokenizer_file
from lepton_stream.models.torch_serving import build_module

INPUTS = ("input_ids", "attention_mask")


def add_tokenizer(root: Path, manifest: bundle.Manifest) -> None:
    """Copy the tokenizer.json the bundle is served with into its root (no-op where it is there already).
    The caller re-seals: the file is hashed with the others."""
    src = tokenizer_file(root, manifest)
    if src != root / TOKENIZER_FILE:
        shutil.copyfile(src, root / TOKENIZER_FILE)


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
    """Add model.int8.onnx (from the bundle's own weights unless `module` is given) and, where the bundle has
    none, tokenizer.json to a bundle, and re-seal it."""
    manifest = bundle.verify(root)
    module = module if module is not None else build_module(root, manifest)
    if list(module.task_names) != list(manifest.tasks):
        raise bundle.BundleError(f"{root}: heads {module.task_names} differ from manifest {list(manifest.tasks)}")
    with tempfile.TemporaryDirectory(prefix="lepton-onnx-") as tmp:
        fp32 = Path(tmp) / "model.onnx"
        export_fp32(module, fp32)
        quantize_int8(fp32, root / bundle.ONNX_INT8)
    add_tokenizer(root, manifest)
    return bundle.seal(root, manifest)
