"""The news worker: sentiment → entities and impacted entities from the graph → per-entity windows → alerts."""

from __future__ import annotations

from lepton_stream.contracts import NewsEnriched, NewsItem, Prediction
from lepton_stream.pipeline.batch import Item, Output
from lepton_stream.pipeline.timing import StageTimer
from lepton_stream.pipeline.worker import Worker, WorkerSpec

TASK = "news-sentiment"


def signed(p: Prediction) -> float:
    """Sentiment as one number in [-1, 1]: P(positive) - P(negative)."""
    return round(p.scores.get("positive", 0.0) - p.scores.get("negative", 0.0), 6)


def enrich(items: list[Item], w: Worker) -> None:
    holder = w.resources.get("graph")
    for it in items:
        if holder is None:
            it.extra["entities"], it.extra["impacted"] = [], []
            continue
        kg = holder.graph
        mentions = kg.link(it.text, it.message.tickers)
        it.extra["entities"] = mentions
        it.extra["impacted"] = kg.propagate(mentions, signed(it.preds[TASK])) if mentions else []


def react(items: list[Item], w: Worker, t: StageTimer) -> list[Output]:
    state = w.resources.get("state")
    return state.apply(items, w, t) if state is not None else []


def render(it: Item, w: Worker) -> Output:
    msg: NewsItem = it.message
    impacted = it.extra.get("impacted", [])
    out = NewsEnriched(
        id=msg.id,
        source=msg.source,
        published_at=msg.published_at,
        headline=it.text,
        model_version=w.model.version,
        sentiment=it.preds[TASK],
        entities=it.extra.get("entities", []),
        impacted=impacted,
        explanation=[" ".join(i.path) for i in impacted[:8]],
    )
    return Output.of(w.settings.topic_news_enriched, msg.id, out, model_version=w.model.version)


SPEC = WorkerSpec(
    kind="news",
    contract=NewsItem,
    input_topic=lambda s: s.topic_news_raw,
    enrich=enrich,
    react=react,
    render=render,
)
