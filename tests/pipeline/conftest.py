"""Fixtures of the tests that run workers: the quick bundles loaded once per module (fp32 torch)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def news_model(models_dir):
    from lepton_stream.models.serving import load_model

    return load_model(models_dir / "news", "torch")


@pytest.fixture(scope="module")
def chat_model(models_dir):
    from lepton_stream.models.serving import load_model

    return load_model(models_dir / "chat", "torch")
