"""`detect-series` is causal and resumable; `detect-eval --json` reports both detectors."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from lepton_stream.cli import main


def make_csv(n: int = 1200, iso: bool = False) -> list[str]:
    rng = np.random.default_rng(21)
    values = rng.poisson(30, n)
    if n > 900:
        values[900] = 300
    rows = []
    for i, v in enumerate(values):
        ts = 1_420_070_400 + 300 * i
        stamp = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S") if iso else str(ts)
        rows.append(f"{stamp},{v}")
    return rows


def detect(rows: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *extra: str):
    monkeypatch.setattr(sys, "stdin", io.StringIO("timestamp,value\n" + "\n".join(rows) + "\n"))
    assert main(["detect-series", *extra]) == 0
    return capsys.readouterr().out.splitlines()


def test_appending_rows_never_changes_earlier_scores(monkeypatch, capsys) -> None:
    rows = make_csv()
    full = detect(rows, monkeypatch, capsys)
    assert len(full) == len(rows)
    assert all(0.0 <= float(x) <= 1.0 for x in full)
    assert float(full[900]) >= 0.5
    for cut in (200, 899, 901):
        assert detect(rows[:cut], monkeypatch, capsys) == full[:cut]


def test_state_round_trip_mid_series_gives_identical_scores(monkeypatch, capsys, tmp_path: Path) -> None:
    rows = make_csv()
    full = detect(rows, monkeypatch, capsys)
    state = tmp_path / "state.json"
    first = detect(rows[:600], monkeypatch, capsys, "--state-out", str(state))
    rest = detect(rows[600:], monkeypatch, capsys, "--state-in", str(state))
    assert first + rest == full


def test_iso_timestamps_score_like_epoch_seconds(monkeypatch, capsys) -> None:
    assert detect(make_csv(400, iso=True), monkeypatch, capsys) == detect(make_csv(400), monkeypatch, capsys)


def test_console_script_streams_stdin_to_stdout() -> None:
    text = "timestamp,value\n" + "\n".join(make_csv(300)) + "\n"
    out = subprocess.run(
        [sys.executable, "-m", "lepton_stream.cli", "detect-series"], input=text, capture_output=True, text=True,
        check=True,
    ).stdout.split()
    assert len(out) == 300


def test_detect_eval_json_reports_detector_and_baseline(capsys) -> None:
    assert main(["detect-eval", "--json", "--series", "4"]) == 0
    report = json.loads(capsys.readouterr().out)
    for name in ("spike_detector", "robust_z_baseline"):
        assert {"nab_score", "windows", "detected", "missed", "false_positives"} <= report[name].keys()
    assert report["corpus"]["series"] == 4


@pytest.mark.parametrize("kind", ["context", "spike"])
def test_detect_series_runs_the_workers_detector(kind, monkeypatch, capsys) -> None:
    from lepton_stream.config import load_settings
    from lepton_stream.detect import base

    monkeypatch.setenv("LEPTON_DETECTOR", kind)
    monkeypatch.setenv("LEPTON_DETECTOR_WARMUP", "40")
    rows = make_csv(1000)
    got = detect(rows, monkeypatch, capsys)
    det = base.for_settings(load_settings(detector=kind, detector_warmup=40))
    want = [f"{det.update(float(r.split(',')[0]), float(r.split(',')[1])):.6g}" for r in rows]
    assert got == want and det.kind == kind
