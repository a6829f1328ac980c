"""A disk cache of a teacher's logits, by teacher version, task and text: a rerun of a distillation recipe
(another alpha, more epochs, more perturbed copies) asks the teacher only about texts it has not labelled.

A teacher's version is the hash of its bundle's files (`models/bundle.py: seal`), so a file named for the
version can only hold that teacher's outputs; `teacher_outputs` (distill.py) verifies the bundle's hashes
before trusting the name. Rows are keyed by a 16-byte BLAKE2b digest of the text and stored in the
teacher's own label order. The file is rewritten whole after each chunk that adds rows to it (a temporary file,
then an atomic rename), so an interrupted run keeps what it labelled; one that cannot be read or does not
match the teacher's labels is recomputed, never trusted. About 30 bytes a text: 50,000 texts ~ 1.5 MB. A
teacher's pooled embeddings (`--distill-hidden`) are kept the same way, in `<version>-<task>-pooled.npz` as
float16: 768 wide, 80 MB for 50,000 texts. Both come from one teacher pass (`cached_rows`): the logits are
the teacher's heads applied to those embeddings.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Store:
    """One cache file: rows of `width` numbers, kept as `dtype` (float16 halves a wide embedding cache).
    Without a path nothing is kept."""

    path: Path | None
    width: int
    dtype: type = np.float32


def cached_rows(stores: Sequence[Store], texts: Sequence[str],
                compute: Callable[[list[str]], Sequence[np.ndarray]], chunk: int = 4096
                ) -> tuple[list[np.ndarray], int]:
    """Rows for `texts` of several outputs of one teacher pass (e.g. its logits and its embeddings), one store
    each: `compute` returns one array per store. A text every store holds is reused; the distinct others are
    computed once, `chunk` at a time, each chunk's rows added to the files of the stores that lacked them as
    it is done (an interrupted run keeps what it computed). Returns one float32 array per store and how many
    of `texts` the stores answered."""
    keys = [_key(t) for t in texts]
    known = [_load(s.path, s.width) if s.path is not None and s.path.is_file() else {} for s in stores]
    todo = {k: t for k, t in zip(keys, texts, strict=True) if not all(k in kn for kn in known)}
    pending = list(todo.items())
    for i in range(0, len(pending), chunk):
        part = pending[i:i + chunk]
        outs = compute([t for _, t in part])
        for s, kn, out in zip(stores, known, outs, strict=True):
            # Rows a store already holds stay as they are, and a store that gained none is not written again
            # (a run adding inner layers to a full cache of logits and embeddings rewrites only the new files).
            new = {k: row for (k, _), row in zip(part, np.asarray(out, s.dtype), strict=True) if k not in kn}
            kn.update(new)
            if s.path is not None and new:
                _save(s.path, kn, s.dtype)
    rows = [np.stack([kn[k] for k in keys]).astype(np.float32) if keys else np.zeros((0, s.width), np.float32)
            for s, kn in zip(stores, known, strict=True)]
    return rows, sum(k not in todo for k in keys)

