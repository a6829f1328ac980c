"""The README is the user's manual, docs/configuration.md the settings reference.

Every setting (`LEPTON_X` in backticks) must be in docs/configuration.md, every CLI command in README.md's
command table, and README.md must stay short enough to read (the rest lives in docs/).
"""

from __future__ import annotations

from pathlib import Path

from lepton_stream.cli import build_parser
from lepton_stream.config import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text()
README_MAX_CHARS = 15_000


def settings_missing_from(text: str) -> list[str]:
    return [f"LEPTON_{n.upper()}" for n in Settings.model_fields if f"`LEPTON_{n.upper()}`" not in text]


def test_every_setting_is_in_the_configuration_reference():
    assert not settings_missing_from(CONFIGURATION)


def test_the_setting_check_sees_a_missing_setting():
    without = CONFIGURATION.replace("`LEPTON_WINDOW_S`", "")
    assert settings_missing_from(without) == ["LEPTON_WINDOW_S"]


def test_every_command_is_in_the_readme():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    missing = [name for name in sub.choices if f"`{name}" not in README]
    assert not missing


def test_readme_stays_a_manual():
    assert len(README) < README_MAX_CHARS, f"README.md is {len(README)} characters: move detail into docs/"
