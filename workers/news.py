"""The news worker: sentiment → entities and impacted entities from the graph → per-entity windows → alerts."""

from __future__ import annotations

from lepton_stream.alerts import build as alerts
from lepton_stream.asyncapi import KindDocs, Message
from lepton_stream.contracts import MAX_HEADLINE, Alert, NewsEnriched, NewsItem, Prediction, PropagatedFrom
from lepton_stream.kafka import cloudevents
from lepton_stream.kg import GraphHolder
from lepton_stream.models.samples import SAMPLES
from lepton_stream.pipeline.batch import Item, Output
from lepton_stream.pipeline.timing import StageTimer
from lepton_stream.pipeline.worker import Worker
from lepton_stream.state import stage
from lepton_stream.state.monitor import Finding
from lepton_stream.state.windows import Event, part
from workers import register
from workers.kind import Kind

TASK = "news-sentiment"
NEGATIVE = "negative"


def signed(p: Prediction) -> float:
    """Sentiment as one number in [-1, 1]: P(positive) - P(negative)."""
    return round(p.scores.get("positive", 0.0) - p.scores.get(NEGATIVE, 0.0), 6)


def explained(w: Worker, evidence: list[dict], top: int = 3) -> list[dict]:
    """The words that drove the strongest evidence's predictions: computed only for alerts, never per message."""
    root = getattr(w.model, "root", None)
    if root is None:
        return evidence
    from lepton_stream.models.explain import explain_tokens

    best = sorted(evidence, key=lambda e: -float(e["confidence"]))
    return [{**e, "explanation": explain_tokens(root, TASK, e["text"], 5)} if i < top else e
            for i, e in enumerate(best)]  # fmt: skip


def setup(w: Worker) -> None:
    w.resources["graph"] = graph = GraphHolder(w.settings.kg_path)

    def events_of(it: Item) -> list[Event]:
        p = it.preds[TASK]
        ts = it.message.published_at.timestamp()
        ev = {"id": it.message.id, "text": it.text[:300], "confidence": round(p.confidence, 4)}
        evidence = ev if p.label == NEGATIVE else None
        return [Event(part(it), m.id, it.message.id, ts, p.label, p.confidence, evidence, offset=it.record.offset)
                for m in it.extra["entities"]]  # fmt: skip

    def alerts_of(f: Finding) -> list[Alert]:
        kg = graph.graph
        name = kg.name(f.subject)
        neg, n = f.counts.get(NEGATIVE, 0), f.counts.get("n", 0)
        minutes = w.settings.window_s // 60
        why = (f"{neg} negative of {n} mentions of {name} in {minutes} min (usually about {f.baseline:.1f}); "
               f"signal: {'negative share' if f.signal == 'share' else 'negative count'}")  # fmt: skip
        ev = explained(w, w.resources["state"].store.evidence(f.subject, f.bucket))
        spike = alerts.make("sentiment_spike", f.subject, name, f, w.settings.window_s, w.version, why, ev)
        out = [spike]
        share = neg / n if n else 0.0
        for imp in kg.impacted([f.subject], limit=10):
            target, weight, path = imp
            if weight < w.settings.propagation_min_weight:
                continue
            via = kg.describe_path(path)
            out.append(alerts.make(
                "propagated_risk", target, kg.name(target), f, w.settings.window_s, w.version,
                f"negative news surge on {name} reaches {kg.name(target)}: {via}", ev,
                propagated=PropagatedFrom(entity=f.subject, path=path, weight=round(weight, 4)),
                score=f.score * weight * max(share, 0.5),
            ))  # fmt: skip
        return out

    w.resources["state"] = stage.build(w, NEGATIVE, True, events_of, alerts_of)


def enrich(items: list[Item], w: Worker) -> None:
    kg = w.resources["graph"].graph
    for it in items:
        mentions = kg.link(it.text, it.message.tickers)
        it.extra["entities"] = mentions
        it.extra["impacted"] = kg.propagate(mentions, signed(it.preds[TASK])) if mentions else []


def react(items: list[Item], w: Worker, t: StageTimer) -> list[Output]:
    return w.resources["state"].apply(items, w, t)


def render(it: Item, w: Worker) -> Output:
    msg: NewsItem = it.message
    impacted = it.extra["impacted"]
    kg = w.resources["graph"].graph
    out = NewsEnriched(
        id=msg.id,
        source=msg.source,
        published_at=msg.published_at,
        headline=it.text,
        model_version=w.version,
        sentiment=it.preds[TASK],
        entities=it.extra["entities"],
        impacted=impacted,
        explanation=[kg.describe_path(i.path) for i in impacted[:8]],
    )
    event = cloudevents.enriched(w.spec.kind, msg.id, msg.published_at)
    return Output.of(w.settings.topic_news_enriched, msg.id, out, event, model_version=w.version)


SPEC = register(Kind(
    kind="news",
    contract=NewsItem,
    input_topic=lambda s: s.topic_news_raw,
    setup=setup,
    enrich=enrich,
    react=react,
    render=render,
    max_text=MAX_HEADLINE,  # NewsEnriched.headline
    output_topics=lambda s: (s.topic_news_enriched, s.topic_alerts),
    key="source",
    tasks={TASK: SAMPLES / "news_sentiment.csv"},
    synth="lepton_stream.tooling.replay.synth:news_stream",
    text_field="headline",
    output_text="headline",
    demo="lepton_stream.tooling.demo:show_news",
    docs=KindDocs(
        input=Message("newsItem", "A news item", "the source (NewsItem.source)", "news_item"),
        input_description="News items to enrich, from the feeds (`lepton-stream produce` replays files into it).",
        output=Message("newsEnriched", cloudevents.NEWS_ENRICHED.title, "the news item's id", "news_enriched",
                       cloudevents.NEWS_ENRICHED, model_version=True),
        output_description="Each valid news item with its sentiment, entities and the entities its news reaches "
                           "through the knowledge graph.",
        feed=("feedsSendNews", "feeds", "news feeds, or `lepton-stream produce` replaying files"),
    ),
    predictions={TASK: "sentiment"},
    alerts={"sentiment_spike": NEGATIVE, "propagated_risk": NEGATIVE},
))
