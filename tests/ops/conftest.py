from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lepton_stream.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SETTING_ENV = {"LEPTON_" + name.upper() for name in Settings.model_fields}


def setting_name_ok(name: str) -> bool:
    """A LEPTON_* name the code reads: a settings field, or `<field>_FILE` (secret from a mounted file)."""
    return name in SETTING_ENV or (name.endswith("_FILE") and name[: -len("_FILE")] in SETTING_ENV)


def settings_from_env(env: dict[str, str]) -> Settings:
    """Validate an env mapping as the worker would (file-secret names skipped: their files exist only in pods)."""
    kw = {k[len("LEPTON_"):].lower(): v for k, v in env.items() if not k.endswith("_FILE")}
    return Settings(**kw)


@pytest.fixture(scope="session")
def k8s_docs() -> list[tuple[str, dict]]:
    out = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        out += [(path.name, d) for d in yaml.safe_load_all(path.read_text()) if d]
    return out


@pytest.fixture(scope="session")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
