"""`detect-eval --nab` scores a NAB-layout folder exactly as the shared `nab_score.py alerts` does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from lepton_stream.cli import main
from lepton_stream.tooling.detect_eval import nabfolder

ROOT = Path(__file__).resolve().parents[2]
NAB_SCORE = Path(os.environ.get("NAB_SCORE", ROOT.parent / "shared" / "tools" / "nab_score.py"))


def stamp(i: int, spacing: int = 300) -> str:
    return datetime.fromtimestamp(1_400_000_000 + spacing * i, UTC).strftime("%Y-%m-%d %H:%M:%S")


def make_folder(root: Path) -> Path:
    """Two categories, three series: spikes inside windows, false alarms outside them, a window-free series."""
    rng = np.random.default_rng(12)
    labels: dict[str, list[list[str]]] = {}
    specs = {
        "catA/one.csv": (900, [500], [250, 700]),  # (rows, spikes in windows, spikes outside)
        "catA/two.csv": (1200, [400, 950], [1100]),
        "catB/quiet.csv": (700, [], [600]),
    }
    for rel, (n, inside, outside) in specs.items():
        values = rng.poisson(30, n).astype(float) + rng.random(n).round(3)
        for i in inside + outside:
            values[i] *= 8
        (root / "data" / rel).parent.mkdir(parents=True, exist_ok=True)
        rows = "".join(f"{stamp(i)},{v}\n" for i, v in enumerate(values))
        (root / "data" / rel).write_text("timestamp,value\n" + rows)
        labels[rel] = [[stamp(i - 40) + ".000000", stamp(i + 40) + ".000000"] for i in inside]
    (root / "labels").mkdir()
    (root / "labels" / "combined_windows.json").write_text(json.dumps(labels))
    return root


def test_windows_probation_and_false_positives_follow_the_rules(tmp_path: Path) -> None:
    series = nabfolder.load_folder(make_folder(tmp_path))
    one = next(s for s in series if s.rel == "catA/one.csv")
    n = len(one.values)
    hits = [False] * n
    assert nabfolder.profile_scores([one], {one.rel: hits})["standard"] == 0.0  # the null detector
    hits[460] = True  # the window's left edge
    assert nabfolder.profile_scores([one], {one.rel: hits})["standard"] == pytest.approx(100.0, abs=0.01)
    hits[50] = True  # inside the probationary 15%: free
    assert nabfolder.profile_scores([one], {one.rel: hits})["standard"] == pytest.approx(100.0, abs=0.01)
    hits[800] = True  # far past the window: costs A_FP (0.11 of a window, halved by normalisation)
    assert nabfolder.profile_scores([one], {one.rel: hits})["standard"] < 100.0
    quiet = next(s for s in series if s.rel == "catB/quiet.csv")
    alarm = [i == 600 for i in range(len(quiet.values))]
    assert nabfolder.profile_scores([quiet], {quiet.rel: alarm})["standard"] == pytest.approx(-0.11)


@pytest.mark.skipif(not NAB_SCORE.exists(), reason="the shared nab_score.py tool is not beside the repository")
def test_detect_eval_agrees_with_nab_score(tmp_path: Path, capsys, monkeypatch) -> None:
    folder = make_folder(tmp_path / "nab")
    env = {**os.environ, "NAB_DIR": str(folder), "PYTHONPATH": str(ROOT), "LEPTON_DETECTOR_WARMUP": "100"}
    cmd = f"{sys.executable} -m lepton_stream.cli detect-series"
    tool = subprocess.run([sys.executable, str(NAB_SCORE), "alerts", cmd], env=env, capture_output=True, text=True,
                          check=True, timeout=300)  # fmt: skip
    expected = json.loads(tool.stdout)
    monkeypatch.setenv("LEPTON_DETECTOR_WARMUP", "100")  # the same worker settings in process
    assert main(["detect-eval", "--nab", str(folder), "--detector", "context", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)["context"]
    assert {k: v for k, v in got.items() if k != "cost"} == expected
    assert expected["alerts"]["standard"] != 0.0, "the folder must exercise detections, not only the null score"
    assert got["cost"]["state_bytes"] > 0 and got["cost"]["us_per_update"] > 0
