"""Hot reload: a worker keeps serving its bundle and swaps to a new one when `models promote` installs it.

The check is cheap (one stat of manifest.json at most every `check_every_s`); only a changed manifest
triggers verification (every file's sha256) and loading, both done before the swap, so predictions never
see a half-loaded model. A bundle that fails verification is refused: the old model keeps serving.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from lepton_stream import logs
from lepton_stream.metrics import MODEL_INFO, MODEL_RELOADS
from lepton_stream.models import bundle
from lepton_stream.models.serving import load_model

log = logs.get("models.reload")


def _stamp(root: Path) -> tuple[int, int, int] | None:
    try:
        st = (root / bundle.MANIFEST).stat()
    except FileNotFoundError:
        return None
    # The inode changes when promote renames a new folder into place, even within one mtime tick.
    return st.st_ino, st.st_mtime_ns, st.st_size


class ModelHolder:
    """Owns the served model. `model` is the current one; call `maybe_reload()` between micro-batches.

    It also serves as the model itself (`version`, `tasks`, `manifest`, `predict` delegate to the current
    one), so a worker can hold a ModelHolder where it held a model; reloads happen only in maybe_reload(),
    never inside predict(), so a batch's version and predictions always match.
    """

    def __init__(self, root: Path, runtime: str = "onnx", batch_size: int = 64, check_every_s: float = 5.0,
                 worker: str = "", threads: int | None = None):
        self.root = Path(root)
        self.runtime = runtime
        self.batch_size = batch_size
        self.threads = threads
        self.check_every_s = check_every_s
        self.worker = worker or self.root.name
        self._lock = threading.Lock()
        self.model = load_model(self.root, runtime, batch_size, threads)
        self._stamp = _stamp(self.root)
        self._next_check = time.monotonic() + check_every_s
        self.refused: str | None = None  # stamp of the last refused manifest
        self._publish()

    @property
    def version(self) -> str:
        return self.model.version

    @property
    def tasks(self) -> tuple[str, ...]:
        return self.model.tasks

    @property
    def manifest(self) -> bundle.Manifest:
        return self.model.manifest

    def predict(self, texts):
        return self.model.predict(texts)

    def current(self):
        """The model served now; a caller that must not see a swap mid-batch keeps this one for the batch."""
        return self.model

    def _publish(self) -> None:
        MODEL_INFO.info({"worker": self.worker, "version": self.model.version, "runtime": self.runtime})

    def maybe_reload(self, force: bool = False) -> bool:
        """Swap to a changed, verified bundle. True if the served model changed."""
        now = time.monotonic()
        if not force and now < self._next_check:
            return False
        self._next_check = now + self.check_every_s
        stamp = _stamp(self.root)
        if stamp is None or stamp == self._stamp or repr(stamp) == self.refused:
            return False
        with self._lock:
            try:
                new = load_model(self.root, self.runtime, self.batch_size, self.threads)  # verifies every hash first
            except (bundle.BundleError, OSError, ValueError, RuntimeError) as exc:
                MODEL_RELOADS.labels(worker=self.worker, result="refused").inc()
                log.error("model_reload_refused", root=str(self.root), serving=self.model.version,
                          error=str(exc)[:500])
                # Not re-hashed until the manifest changes again (a fixed or newly promoted bundle).
                self.refused = repr(stamp)
                return False
            old = self.model.version
            self._stamp = stamp
            self.refused = None
            if new.version == old:
                return False
            self.model = new
        MODEL_RELOADS.labels(worker=self.worker, result="ok").inc()
        log.info("model_reloaded", root=str(self.root), old_version=old, new_version=new.version)
        self._publish()
        return True
