"""The news worker: sentiment → entities and impacted entities from the graph → per-entity windows → alerts."""

from __future__ import annotations

from dataclasses import dataclass, field

from lepton_stream.alerts import build as alerts
from lepton_stream.alerts.build import Finding
from lepton_stream.contracts import (
    MAX_HEADLINE,
    Alert,
    EntityMention,
    ImpactedEntity,
    NewsEnriched,
    NewsItem,
    Prediction,
    PropagatedFrom,
)
from lepton_stream.kafka import cloudevents
from lepton_stream.kg import GraphHolder
from lepton_stream.models import figures
from lepton_stream.models.samples import SAMPLES
from lepton_stream.pipeline.alerting import build as build_alerting
from lepton_stream.pipeline.batch import Item, Output
from lepton_stream.pipeline.stage import BackHalf, BatchContext, Render
from lepton_stream.pipeline.worker import Worker
from lepton_stream.state.windows import Event, part
from workers import register
from workers.kind import Kind, KindDocs, Message

TASK = "news-sentiment"
NEGATIVE, POSITIVE = "negative", "positive"


def signed(p: Prediction) -> float:
    """Sentiment as one number in [-1, 1]: P(positive) - P(negative)."""
    return round(p.scores.get(POSITIVE, 0.0) - p.scores.get(NEGATIVE, 0.0), 6)


def explained(w: Worker, evidence: list[dict], top: int = 3) -> list[dict]:
    """The words that drove the strongest evidence's predictions: computed only for alerts, never per message."""
    root = getattr(w.model, "root", None)
    if root is None:
        return evidence
    from lepton_stream.models.explain import explain_tokens

    best = sorted(evidence, key=lambda e: -float(e["confidence"]))
    return [{**e, "explanation": explain_tokens(root, TASK, e["text"], 5)} if i < top else e
            for i, e in enumerate(best)]  # fmt: skip


@dataclass(slots=True)
class NewsFacts:
    """What the news stages attach to an item."""

    entities: list[EntityMention] = field(default_factory=list)  # the graph entities the item mentions
    impacted: list[ImpactedEntity] = field(default_factory=list)  # those its sentiment reaches through the graph


@dataclass
class FiguresPrior:
    """figures: where a sentence compares figures (models/figures.py: "profit rose to X from Y"), `strength` is
    added to the logit of the label they point to (positive when the company did better, negative when worse).
    After the cache: the cache keeps the model's own predictions, and the prior is the same on every read."""

    strength: float
    name: str = "figures"

    def run(self, items: list[Item], batch: BatchContext) -> list[Output]:
        for it in items:
            signal = figures.direction(it.text)
            if signal:
                it.preds[TASK] = with_prior(it.preds[TASK], signal, self.strength)
        return []


def with_prior(p: Prediction, signal: int, strength: float) -> Prediction:
    """p with the figures prior applied (models/figures.py `prior_scores`), its label the most likely after it."""
    scores = {k: round(v, 6) for k, v in figures.prior_scores(p.scores, signal, strength).items()}
    label = max(scores, key=scores.__getitem__)
    return p.model_copy(update={"label": label, "confidence": scores[label], "scores": scores})


@dataclass
class LinkEntities:
    """graph: the entities each item mentions, and the entities its sentiment reaches through the graph."""

    graph: GraphHolder
    name: str = "graph"

    def run(self, items: list[Item], batch: BatchContext) -> list[Output]:
        kg = self.graph.graph
        for it in items:
            f: NewsFacts = it.facts
            f.entities = kg.link(it.text, it.message.tickers)
            f.impacted = kg.propagate(f.entities, signed(it.preds[TASK])) if f.entities else []
        return []


def events_of(it: Item) -> list[Event]:
    """One event per mentioned entity, in the entity's windows; a negative one keeps the text as evidence."""
    p = it.preds[TASK]
    ts = it.message.published_at.timestamp()
    ev = {"id": it.message.id, "text": it.text[:300], "confidence": round(p.confidence, 4)}
    evidence = ev if p.label == NEGATIVE else None
    return [Event(part(it), m.id, it.message.id, ts, p.label, p.confidence, evidence, offset=it.record.offset)
            for m in it.facts.entities]  # fmt: skip


@dataclass
class NewsAlerts:
    """A finding on an entity's negative news → its sentiment spike and the risk it propagates to the entities
    related to it, each with the evidence's texts (explained when the model can explain)."""

    w: Worker
    graph: GraphHolder

    def __call__(self, f: Finding, evidence: list[dict]) -> list[Alert]:
        s, kg = self.w.settings, self.graph.graph
        name = kg.name(f.subject)
        neg, n = f.counts.get(NEGATIVE, 0), f.counts.get("n", 0)
        minutes = s.window_s // 60
        why = (f"{neg} negative of {n} mentions of {name} in {minutes} min (usually about {f.baseline:.1f}); "
               f"signal: {'negative share' if f.signal == 'share' else 'negative count'}")  # fmt: skip
        ev = explained(self.w, evidence)
        version = self.w.version
        out = [alerts.make("sentiment_spike", f.subject, name, f, s.window_s, version, why, ev)]
        share = neg / n if n else 0.0
        for target, weight, path in kg.impacted([f.subject], limit=10):
            if weight < s.propagation_min_weight:
                continue
            via = kg.describe_path(path)
            out.append(alerts.make(
                "propagated_risk", target, kg.name(target), f, s.window_s, version,
                f"negative news surge on {name} reaches {kg.name(target)}: {via}", ev,
                propagated=PropagatedFrom(entity=f.subject, path=path, weight=round(weight, 4)),
                score=f.score * weight * max(share, 0.5),
            ))  # fmt: skip
        return out


@dataclass
class RenderNews(Render):
    graph: GraphHolder
    topic: str

    def render(self, it: Item, batch: BatchContext) -> Output:
        msg: NewsItem = it.message
        facts: NewsFacts = it.facts
        kg = self.graph.graph
        out = NewsEnriched(
            id=msg.id,
            source=msg.source,
            published_at=msg.published_at,
            headline=it.text,
            model_version=batch.version,
            sentiment=it.preds[TASK],
            entities=facts.entities,
            impacted=facts.impacted,
            explanation=[kg.describe_path(i.path) for i in facts.impacted[:8]],
        )
        event = cloudevents.enriched(batch.kind, msg.id, msg.published_at)
        return Output.of(self.topic, msg.id, out, event, model_version=batch.version)


def stages(w: Worker) -> BackHalf:
    """(figures →) graph → state → detect (→ replicate) → render."""
    graph = GraphHolder(w.settings.kg_path)
    prior = [FiguresPrior(w.settings.figures_prior)] if w.settings.figures_prior > 0 else []
    alerting = build_alerting(w, NEGATIVE, True, events_of, NewsAlerts(w, graph))
    return BackHalf(
        [*prior, LinkEntities(graph), *alerting.stages, RenderNews(graph, w.settings.topic_news_enriched)],
        reloadable=[graph],
        heartbeats=[alerting.detect.outbox.renew],
        names=graph,
    )


SPEC = register(Kind(
    kind="news",
    contract=NewsItem,
    input_topic=lambda s: s.topic_news_raw,
    stages=stages,
    facts=NewsFacts,
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
