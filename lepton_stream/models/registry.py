"""The models folder: listing bundles and promoting a new one atomically, with an audit trail."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

from lepton_stream import logs
from lepton_stream.models import bundle

AUDIT_FILE = "audit.jsonl"
log = logs.get("models.registry")


def _summary(root: Path) -> dict:
    entry: dict = {"path": str(root)}
    try:
        m = bundle.verify(root)
        entry["verified"] = True
    except bundle.BundleError as exc:
        entry["verified"] = False
        entry["error"] = str(exc)
        try:
            m = bundle.read_manifest(root)
        except bundle.BundleError:
            return entry
    entry |= {
        "name": m.name, "version": m.version, "recipe": m.recipe, "created_at": m.created_at,
        "tasks": {t: {"labels": len(s.labels), "oos_threshold": s.oos_threshold} for t, s in m.tasks.items()},
        "onnx_int8": bundle.ONNX_INT8 in m.files,
        "valid_macro_f1": {
            t: v["valid"]["macro_f1"] for t, v in m.metrics.items() if isinstance(v, dict) and "valid" in v
        },
    }
    return entry


def list_bundles(models_dir: Path) -> list[dict]:
    if not models_dir.is_dir():
        return []
    return [_summary(p) for p in sorted(models_dir.iterdir()) if (p / bundle.MANIFEST).is_file()]


def manifest_sha256(root: Path) -> str:
    return bundle.sha256_file(root / bundle.MANIFEST)


def promote(src: Path, models_dir: Path, kind: str, who: str | None = None) -> dict:
    """Verify `src`, copy it next to the target, then swap it in with renames; the old one stays as .previous.

    Running workers pick the new bundle up on their next `maybe_reload()`; a copy that does not verify is
    never installed.
    """
    manifest = bundle.verify(src)
    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir / kind
    stamp = f"{int(time.time() * 1000)}-{os.getpid()}"
    staging = models_dir / f".{kind}.incoming-{stamp}"
    shutil.copytree(src, staging)
    try:
        bundle.verify(staging)  # the copy itself, not just the source
    except bundle.BundleError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    previous = None
    if (target / bundle.MANIFEST).is_file():
        try:
            previous = bundle.read_manifest(target).version
        except bundle.BundleError:
            previous = None
    backup = models_dir / f"{kind}.previous"
    if target.exists():
        if backup.exists():
            shutil.rmtree(backup)
        os.rename(target, backup)
    os.rename(staging, target)  # same filesystem: atomic
    event = {
        "event": "model_promoted",
        "at": datetime.now(UTC).isoformat(),
        "who": who or os.environ.get("USER") or getpass.getuser(),
        "kind": kind,
        "version": manifest.version,
        "previous_version": previous,
        "recipe": manifest.recipe,
        "source": str(src.resolve()),
        "manifest_sha256": manifest_sha256(target),
        "files_sha256": bundle.hashlib.sha256(json.dumps(manifest.files, sort_keys=True).encode()).hexdigest(),
    }
    with (models_dir / AUDIT_FILE).open("a", encoding="utf-8") as f:
        f.write(json.dumps(event, sort_keys=True) + "\n")
    log.info(**event)
    return event
