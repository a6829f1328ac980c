"""A disk cache of a teacher's logits, by teacher version, task and text: a rerun of a distillation recipe
(another alpha, more epochs, more perturbed copies) asks the teacher only about texts it has not labelled.

A teacher's version is the hash of its bundle's files (`models/bundle.py: seal`), so a file named for the
version can only hold that teacher's logits; `teacher_logits` verifies the bundle's hashes before trusting
the name. Rows are keyed by a 16-byte BLAKE2b digest of the text and stored in the teacher's own label order.
The file is rewritten whole after each chunk of new texts (a temporary file, then an atomic rename), so an
interrupted run keeps what it labelled; one that cannot be read or does not match the teacher's labels is
recomputed, never trusted. About 30 bytes a text: 50,000 texts ~ 1.5 MB. A teacher's pooled embeddings
(`--distill-hidden`) are kept the same way, in `<version>-<task>-pooled.npz` as float16: 768 wide, 80 MB for
50,000 texts.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from lepton_stream.tooling.cache import cache_root


def default_dir() -> Path:
    return cache_root() / "soft-labels"


def _key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def _load(path: Path, width: int) -> dict[bytes, np.ndarray]:
    try:
        with np.load(path) as f:
            keys, logits = f["keys"], f["logits"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # e.g. truncated by a full disk
        return {}
    if keys.ndim != 2 or keys.shape[1] != 16 or logits.shape != (len(keys), width):
        return {}
    return {k.tobytes(): row for k, row in zip(keys, logits, strict=True)}


def _save(path: Path, known: dict[bytes, np.ndarray], dtype: type = np.float32) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = np.frombuffer(b"".join(known), dtype=np.uint8).reshape(-1, 16)
    logits = np.stack(list(known.values())).astype(dtype)  # never empty: saved after a chunk is added
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, keys=keys, logits=logits)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cached_logits(path: Path | None, texts: Sequence[str], width: int,
                  compute: Callable[[list[str]], np.ndarray], chunk: int = 4096,
                  dtype: type = np.float32) -> tuple[np.ndarray, int]:
    """Logits (rows x width) for `texts`: rows already in `path` are reused, the others come from `compute` on
    the distinct missing texts, `chunk` at a time, each chunk added to the file as it is done (an interrupted
    run keeps what it labelled). Returns the logits (float32) and how many of `texts` the file answered.
    Without a path: `compute` on every text. `dtype` is the file's (float16 halves a wide embedding cache)."""
    if path is None:
        out = compute(list(texts)) if texts else np.zeros((0, width), np.float32)
        return out, 0
    keys = [_key(t) for t in texts]
    known = _load(path, width) if path.is_file() else {}
    todo = {k: t for k, t in zip(keys, texts, strict=True) if k not in known}
    pending = list(todo.items())
    for i in range(0, len(pending), chunk):
        part = pending[i:i + chunk]
        fresh = compute([t for _, t in part])
        known.update(zip((k for k, _ in part), np.asarray(fresh, dtype), strict=True))
        _save(path, known, dtype)
    out = np.stack([known[k] for k in keys]).astype(np.float32) if keys else np.zeros((0, width), np.float32)
    return out, sum(k not in todo for k in keys)
