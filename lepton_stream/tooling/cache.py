"""Where tooling keeps what it fetches or computes once (Kafka's jars, unpacked encoders, a teacher's soft labels):
$XDG_CACHE_HOME/lepton-stream, default ~/.cache/lepton-stream. The service itself keeps nothing on disk."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lepton-stream"
