"""The README is the user's manual: every setting and every command must be in it."""

from __future__ import annotations

from pathlib import Path

from lepton_stream.cli import build_parser
from lepton_stream.config import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_setting_is_documented():
    missing = [f"LEPTON_{n.upper()}" for n in Settings.model_fields if f"`LEPTON_{n.upper()}`" not in README]
    assert not missing


def test_every_command_is_documented():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    missing = [name for name in sub.choices if f"`{name}" not in README]
    assert not missing
