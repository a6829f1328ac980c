"""The interface every classifier serves the pipeline through."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from lepton_stream.contracts import Prediction

# One entry per text: task name -> prediction (e.g. {"chat-intent": ..., "chat-sentiment": ...}).
TaskPredictions = dict[str, Prediction]

OUT_OF_SCOPE = "oos"


class TextModel(Protocol):
    """A batch classifier. `version` is part of every cache key and output."""

    version: str
    tasks: tuple[str, ...]

    def predict(self, texts: Sequence[str]) -> list[TaskPredictions]: ...
