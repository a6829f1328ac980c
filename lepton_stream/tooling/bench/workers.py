"""Worker subprocesses (`python -m lepton_stream run KIND`) configured only through LEPTON_* variables."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from lepton_stream.config import Settings

ROOT = Path(__file__).resolve().parents[3]


def worker_env(s: Settings) -> dict[str, str]:
    """The process environment that reproduces these settings (every field, as a LEPTON_* variable)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEPTON_")}
    for name, value in s.model_dump(mode="json").items():
        if value is None:
            continue
        env[f"LEPTON_{name.upper()}"] = value if isinstance(value, str) else json.dumps(value)
    env.update(HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    return env


@dataclass
class Pool:
    """Numbered worker processes of one kind; each writes its JSON log to logdir/worker-<n>.log."""

    settings: Settings
    logdir: Path
    kind: str = "news"
    procs: dict[int, subprocess.Popen] = field(default_factory=dict)
    started: int = 0
    killed: int = 0
    events: list[dict] = field(default_factory=list)
    t0: float = field(default_factory=time.monotonic)

    def note(self, event: str, **kw) -> None:
        self.events.append({"t_s": round(time.monotonic() - self.t0, 2), "event": event, **kw})

    def spawn(self) -> int:
        self.started += 1
        n = self.started
        self.logdir.mkdir(parents=True, exist_ok=True)
        with (self.logdir / f"worker-{n}.log").open("ab") as log:
            cmd = [sys.executable, "-m", "lepton_stream", "run", self.kind]
            self.procs[n] = subprocess.Popen(cmd, cwd=ROOT, env=worker_env(self.settings), stdout=log,
                                             stderr=subprocess.STDOUT)  # fmt: skip
        self.note("spawn", worker=n)
        return n

    def alive(self) -> list[int]:
        return [n for n, p in self.procs.items() if p.poll() is None]

    def kill(self, n: int, event: str = "sigkill") -> None:
        """SIGKILL: no flush, no commit, no leave-group; the batch in hand is redelivered to someone."""
        self.procs[n].send_signal(signal.SIGKILL)
        self.procs[n].wait(timeout=30)
        del self.procs[n]
        if event == "sigkill":
            self.killed += 1
        self.note(event, worker=n)

    def stop(self, n: int, timeout_s: float = 60.0) -> int:
        """SIGTERM: finish the batch, flush, commit, leave the group (a graceful scale-down)."""
        p = self.procs.pop(n)
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = p.wait(timeout=30)
        self.note("sigterm", worker=n, rc=rc)
        return rc

    def stop_all(self) -> None:
        for n in list(self.procs):
            self.stop(n)

    def crashed(self) -> list[int]:
        """Workers that exited by themselves (not killed or stopped by us): a bug to report."""
        return [n for n, p in self.procs.items() if p.poll() is not None]
