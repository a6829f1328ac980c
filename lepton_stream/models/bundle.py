"""Model bundles (docs/design.md §4): a folder with manifest.json, head weights, optional encoder and tokenizer.

    manifest.json      name, version, tasks {task: {labels, oos_threshold?}}, base_model, encoder,
                       max_length, recipe, metrics, created_at, files {relative path: sha256}
    heads.safetensors  "<task>.weight" / "<task>.bias" for every task
    encoder/           fine-tuned encoder + tokenizer (absent: the base encoder from its package)
    model.int8.onnx    optional int8 export served by the onnx runtime

The version is derived from the file hashes, so the same weights always carry the same version and
any change of weights gives a new one (and so new cache keys).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
HEADS = "heads.safetensors"
ENCODER_DIR = "encoder"
ONNX_INT8 = "model.int8.onnx"


class BundleError(Exception):
    """A bundle that is missing, malformed or whose files do not match their recorded hashes."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class TaskSpec:
    labels: list[str]
    oos_threshold: float | None = None  # below this confidence an intent is out of scope


@dataclass
class Manifest:
    name: str
    tasks: dict[str, TaskSpec]
    base_model: str
    max_length: int
    recipe: str
    encoder: str = "package"  # "package" or the bundle-relative encoder folder
    metrics: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    version: str = ""
    created_at: str = ""

    def to_json(self) -> str:
        d = self.__dict__ | {"tasks": {t: s.__dict__ for t, s in self.tasks.items()}}
        return json.dumps(d, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        d = json.loads(text)
        d["tasks"] = {t: TaskSpec(**s) for t, s in d["tasks"].items()}
        return cls(**d)


def _bundle_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != MANIFEST)


def seal(root: Path, manifest: Manifest) -> Manifest:
    """Hash every file, derive the version and write manifest.json. Call after all files are written."""
    manifest.files = {str(p.relative_to(root)): sha256_file(p) for p in _bundle_files(root)}
    digest = hashlib.sha256(json.dumps(manifest.files, sort_keys=True).encode()).hexdigest()[:12]
    manifest.version = f"{manifest.name}-{manifest.recipe}-{digest}"
    manifest.created_at = manifest.created_at or datetime.now(UTC).isoformat()
    (root / MANIFEST).write_text(manifest.to_json())
    return manifest


def read_manifest(root: Path) -> Manifest:
    path = root / MANIFEST
    if not path.is_file():
        raise BundleError(f"no {MANIFEST} in {root}: train a model or run `lepton-stream models quick`")
    try:
        return Manifest.from_json(path.read_text())
    except (ValueError, TypeError, KeyError) as exc:
        raise BundleError(f"malformed {path}: {exc}") from exc


def verify(root: Path) -> Manifest:
    """Refuse a bundle whose files differ from the hashes recorded in its manifest."""
    manifest = read_manifest(root)
    if not manifest.files:
        raise BundleError(f"{root}: manifest lists no files")
    for rel, expected in manifest.files.items():
        path = root / rel
        if not path.is_file():
            raise BundleError(f"{root}: missing file {rel}")
        actual = sha256_file(path)
        if actual != expected:
            raise BundleError(f"{root}: sha256 mismatch for {rel} (manifest {expected[:12]}, file {actual[:12]})")
    return manifest
