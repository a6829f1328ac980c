"""GraphHolder: the graph a worker uses, swapped in place when its file changes (no restart)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from lepton_stream.kg.graph import KnowledgeGraph
from lepton_stream.kg.io import graph_files
from lepton_stream.kg.propagation import PropagationSettings

log = logging.getLogger(__name__)


class GraphHolder:
    """Holds the current KnowledgeGraph. `maybe_reload()` is cheap (a stat per file) and safe to call every batch:
    a changed file is loaded completely before it replaces the old graph, and a bad file keeps the old one."""

    def __init__(self, path: Path | None = None, settings: PropagationSettings | None = None):
        self.path = Path(path) if path is not None else None
        self.settings = settings
        self._lock = threading.Lock()
        self.last_error: str | None = None
        self._stamp = self._stat()
        self.graph = KnowledgeGraph.load(self.path, settings)

    def _stat(self) -> tuple:
        try:
            return tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in graph_files(self.path))
        except (OSError, ValueError):
            return ()

    def maybe_reload(self) -> bool:
        """True when a changed, valid graph was swapped in."""
        stamp = self._stat()
        if stamp == self._stamp or not stamp:
            return False
        with self._lock:
            if stamp == self._stamp:
                return False
            self._stamp = stamp  # a bad file is reported once, not on every batch
            try:
                graph = KnowledgeGraph.load(self.path, self.settings)
            except (OSError, ValueError) as e:
                self.last_error = str(e)
                log.warning("knowledge graph reload failed; keeping version %s: %s", self.graph.version, e)
                return False
            if graph.version == self.graph.version:
                return False
            self.graph, self.last_error = graph, None
            return True
