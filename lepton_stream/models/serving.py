"""Loading a bundle for serving: verify its hashes, then build the runtime asked for.

"onnx" (the workers' default) needs onnxruntime and tokenizers only; "torch" needs the 'train' extra. Each
runtime's module is imported only when that runtime is asked for, so a worker never imports torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lepton_stream.models import bundle

# Re-exported: callers import the shared helpers from here.
from lepton_stream.models.batching import TOP_SCORES, BucketedBatcher, to_predictions  # noqa: F401

_TORCH_NAMES = ("TorchModel", "build_module", "encoder_path")


def set_threads(threads: int) -> None:
    """torch's intra-op threads, for the torch runtime (onnx sessions take their own count): imports torch."""
    from lepton_stream.models.torch_serving import set_threads as set_torch_threads

    set_torch_threads(threads)


def load_model(root: Path, runtime: str = "torch", batch_size: int = 64, threads: int | None = None) -> Any:
    """Verify the bundle's hashes, then load it in the requested runtime (onnx threads: LEPTON_THREADS if None)."""
    manifest = bundle.verify(root)
    if runtime == "onnx":
        from lepton_stream.models.onnx_runtime import OnnxModel

        return OnnxModel(root, batch_size=batch_size, manifest=manifest, threads=threads)
    from lepton_stream.models.torch_serving import TorchModel

    return TorchModel(root, batch_size=batch_size, manifest=manifest)


def __getattr__(name: str) -> Any:
    # `from lepton_stream.models.serving import TorchModel` keeps working, importing torch only then.
    if name in _TORCH_NAMES:
        from lepton_stream.models import torch_serving

        return getattr(torch_serving, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
