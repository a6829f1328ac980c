"""The back half as an ordered list of stages: run in order, one timer each, records in stage order, an item's own
record answering its input record, and a failing stage failing the batch."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from lepton_stream.pipeline.batch import Item, Output, RawRecord
from lepton_stream.pipeline.stage import BackHalf, BatchContext, Render
from lepton_stream.pipeline.timing import StageTimer


@dataclass
class Note:
    """Appends its name to every item's facts, and optionally returns one record."""

    name: str
    emits: bool = False
    seen: list[list[str]] = field(default_factory=list)

    def run(self, items: list[Item], batch: BatchContext) -> list[Output]:
        self.seen.append(list(items[0].facts))
        for it in items:
            it.facts.append(self.name)
        return [Output("side", None, self.name.encode())] if self.emits else []


class Echo(Render):
    def render(self, it: Item, batch: BatchContext) -> Output:
        return Output("out", None, f"{it.text}|{','.join(it.facts)}|{batch.version}".encode())


class Boom:
    name = "boom"

    def run(self, items: list[Item], batch: BatchContext) -> list[Output]:
        raise ConnectionError("redis went away")


def _items(n: int) -> list[Item]:
    return [Item(RawRecord("in", 0, i, None, b"{}"), None, text=f"t{i}", facts=[]) for i in range(n)]


def _batch(flushed: list) -> BatchContext:
    return BatchContext("k", "v1", {}, flushed.append)


def test_stages_run_in_order_each_timed_and_records_keep_stage_order() -> None:
    first, second = Note("graph"), Note("state", emits=True)
    half = BackHalf([first, second, Echo()])
    t = StageTimer("k")
    out = half.run(_items(2), _batch([]), t)
    assert first.seen == [[]] and second.seen == [["graph"]]  # each stage sees what the ones before attached
    assert [o.value for o in out] == [b"state", b"t0|graph,state|v1", b"t1|graph,state|v1"]
    assert set(t.ms) == {"graph", "state", "render"}


def test_render_answers_each_input_record() -> None:
    items = _items(3)
    out = BackHalf([Echo()]).run(items, _batch([]), StageTimer("k"))
    assert [o.source for o in out] == [it.record for it in items]


def test_a_failing_stage_fails_the_batch_before_later_stages_run() -> None:
    after = Note("render-like")
    with pytest.raises(ConnectionError):
        BackHalf([Note("graph"), Boom(), after]).run(_items(1), _batch([]), StageTimer("k"))
    assert after.seen == []


def test_stages_are_found_by_name() -> None:
    half = BackHalf([Note("graph"), Echo()])
    assert half.stage("render").name == "render"
    with pytest.raises(KeyError, match="graph, render"):
        half.stage("detect")


class NoModel:
    version = "none"


@pytest.mark.parametrize(("kind", "names"), [
    ("news", ["graph", "state", "detect", "render"]),
    ("chat", ["graph", "conversations", "route", "state", "detect", "render"]),
])  # fmt: skip
def test_the_shipped_kinds_back_halves(kind: str, names: list[str]) -> None:
    """As docs/design.md lists them (a replicated Redis adds `replicate` before `render`)."""
    import redis

    from lepton_stream.config import load_settings
    from lepton_stream.runtime import build_worker

    worker = build_worker(kind, load_settings(), model=NoModel(), client=redis.Redis(port=1))  # connects lazily
    assert [s.name for s in worker.back_half] == names
    assert worker.back_half.heartbeats and worker.back_half.names is not None


def test_the_figures_prior_moves_a_results_sentence_by_its_figures() -> None:
    """LEPTON_FIGURES_PRIOR: a `figures` stage first in news; a neutral reading of improved figures becomes
    positive, of worsened ones negative; a sentence without a comparison keeps the model's prediction."""
    import redis

    from lepton_stream.config import load_settings
    from lepton_stream.contracts import Prediction
    from lepton_stream.runtime import build_worker
    from workers.news import TASK, FiguresPrior

    worker = build_worker("news", load_settings(figures_prior=3.0), model=NoModel(), client=redis.Redis(port=1))
    assert [s.name for s in worker.back_half][:2] == ["figures", "graph"]
    neutral = Prediction(label="neutral", confidence=0.6, scores={"negative": 0.1, "neutral": 0.6, "positive": 0.3})
    texts = ["Operating profit rose to EUR 13.1 mn from EUR 8.7 mn.",
             "Net sales decreased to EUR 40.2 mn from EUR 51.0 mn.",
             "The annual general meeting will be held on 14 March."]  # fmt: skip
    items = [Item(RawRecord("in", 0, i, None, b"{}"), None, text=t, preds={TASK: neutral}) for i, t in enumerate(texts)]
    FiguresPrior(3.0).run(items, _batch([]))
    assert [it.preds[TASK].label for it in items] == ["positive", "negative", "neutral"]
    up = items[0].preds[TASK]
    assert abs(sum(up.scores.values()) - 1) < 1e-5 and up.confidence == max(up.scores.values())
    assert items[2].preds[TASK] is neutral
    off = build_worker("news", load_settings(), model=NoModel(), client=redis.Redis(port=1))
    assert "figures" not in [s.name for s in off.back_half]
