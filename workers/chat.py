"""The chat worker: intent + sentiment in one pass → customer facts → conversation state → routing decision,
and per-intent windows for incident (intent surge) alerts."""

from __future__ import annotations

from dataclasses import dataclass

from lepton_stream import metrics
from lepton_stream.alerts import build as alerts
from lepton_stream.alerts.build import Finding
from lepton_stream.contracts import MAX_CHAT_TEXT, Alert, ChatMessage, ChatRouted
from lepton_stream.kafka import cloudevents
from lepton_stream.kg import GraphHolder
from lepton_stream.models.base import OUT_OF_SCOPE
from lepton_stream.models.samples import SAMPLES
from lepton_stream.pipeline.alerting import build as build_alerting
from lepton_stream.pipeline.batch import Item, Output
from lepton_stream.pipeline.stage import BackHalf, BatchContext, Render
from lepton_stream.pipeline.worker import Worker
from lepton_stream.routing import ConversationState, ConversationStore, Router, RoutingDecision
from lepton_stream.state.windows import Event, part
from workers import register
from workers.kind import Kind, KindDocs, Message

INTENT, SENTIMENT = "chat-intent", "chat-sentiment"


@dataclass(slots=True)
class ChatFacts:
    """What the chat stages attach to an item."""

    customer: dict | None = None  # the graph's facts about the customer (tier, open incidents...)
    conversation: ConversationState | None = None  # the conversation's state after this message
    route: RoutingDecision | None = None


@dataclass
class CustomerFacts:
    """graph: what the graph knows about each message's customer."""

    graph: GraphHolder
    name: str = "graph"

    def run(self, items: list[Item], batch: BatchContext) -> list[Output]:
        kg = self.graph.graph
        for it in items:
            # The clear id when an email-shaped one was hashed (pipeline/worker.py): the graph knows customers by it.
            it.facts.customer = kg.customer(it.clear_ids.get("customer_id", it.message.customer_id))
        return []


@dataclass
class Conversations:
    """conversations: each message into its conversation's state in Redis (turns, intents so far, sentiment trend);
    a redelivered message is not counted twice (its partition offset is remembered)."""

    store: ConversationStore
    router: Router
    name: str = "conversations"

    def run(self, items: list[Item], batch: BatchContext) -> list[Output]:
        # Untrusted intents are remembered as out of scope, so follow-ups inherit only a confident intent.
        rows = [
            (m.conversation_id, m.id, it.preds[SENTIMENT].label, i.label if self.router.trusts(i) else OUT_OF_SCOPE,
             part(it), it.record.offset)
            for it in items
            for m, i in [(it.message, it.preds[INTENT])]
        ]
        # A Redis error propagates: the loop retries the batch, consumption paused, until Redis is back.
        for it, conv in zip(items, self.store.apply_batch(rows), strict=True):
            it.facts.conversation = conv
        return []


@dataclass
class Route:
    """route: the queue, priority, urgency and escalation of each message (routing/rules.yaml)."""

    router: Router
    name: str = "route"

    def run(self, items: list[Item], batch: BatchContext) -> list[Output]:
        for it in items:
            f: ChatFacts = it.facts
            f.route = d = self.router.decide(it.preds[INTENT], it.preds[SENTIMENT], it.text, f.customer,
                                             f.conversation)  # fmt: skip
            metrics.ROUTED.labels(d.queue, str(d.escalate).lower()).inc()
        return []


def events_of(it: Item) -> list[Event]:
    """One event per in-scope message in its intent's windows (off-topic chats say nothing about an incident)."""
    intent = it.preds[INTENT]
    if intent.out_of_scope:
        return []
    ev = {"id": it.message.id, "text": it.text[:300], "confidence": round(intent.confidence, 4)}
    ts = it.message.sent_at.timestamp()
    return [Event(part(it), intent.label, it.message.id, ts, "n", intent.confidence, ev, offset=it.record.offset)]


@dataclass
class SurgeAlerts:
    """A finding on an intent's chat count → an intent surge alert with the chats as evidence."""

    w: Worker

    def __call__(self, f: Finding, evidence: list[dict]) -> list[Alert]:
        s = self.w.settings
        why = f"{f.counts.get('n', 0)} '{f.subject}' chats in {s.window_s // 60} min (usually about {f.baseline:.1f})"
        return [alerts.make("intent_surge", f.subject, f.subject, f, s.window_s, self.w.version, why, evidence)]


@dataclass
class RenderChat(Render):
    topic: str

    def render(self, it: Item, batch: BatchContext) -> Output:
        msg: ChatMessage = it.message
        d = it.facts.route
        out = ChatRouted(
            id=msg.id,
            conversation_id=msg.conversation_id,
            customer_id=msg.customer_id,
            sent_at=msg.sent_at,
            text=it.text,
            model_version=batch.version,
            intent=it.preds[INTENT],
            sentiment=it.preds[SENTIMENT],
            urgency=d.urgency,
            queue=d.queue,
            priority=d.priority,
            escalate=d.escalate,
            reasons=d.reasons,
        )
        event = cloudevents.routed(batch.kind, msg.id, msg.conversation_id, msg.sent_at)
        return Output.of(self.topic, msg.conversation_id, out, event, model_version=batch.version)


def stages(w: Worker) -> BackHalf:
    """graph → conversations → route → state → detect (→ replicate) → render."""
    s = w.settings
    graph, router = GraphHolder(s.kg_path), Router.load(s.routing_path)
    conversations = ConversationStore(w.redis, s.redis_key_prefix, ttl_s=s.conversation_ttl_s)
    alerting = build_alerting(w, None, False, events_of, SurgeAlerts(w))
    return BackHalf(
        [CustomerFacts(graph), Conversations(conversations, router), Route(router), *alerting.stages,
         RenderChat(s.topic_chat_routed)],
        reloadable=[graph],
        heartbeats=[alerting.detect.outbox.renew],
        names=graph,
    )


SPEC = register(Kind(
    kind="chat",
    contract=ChatMessage,
    input_topic=lambda s: s.topic_chat_raw,
    stages=stages,
    facts=ChatFacts,
    max_text=MAX_CHAT_TEXT,  # ChatRouted.text
    output_topics=lambda s: (s.topic_chat_routed, s.topic_alerts),
    key="conversation_id",
    tasks={INTENT: SAMPLES / "chat_intent.csv", SENTIMENT: SAMPLES / "chat_sentiment.csv"},
    synth="lepton_stream.tooling.replay.synth:chat_stream",
    demo="lepton_stream.tooling.demo:show_routing",
    docs=KindDocs(
        input=Message("chatMessage", "A chat message", "the conversation id", "chat_message"),
        input_description="Customer chat messages to route.",
        output=Message("chatRouted", cloudevents.CHAT_ROUTED.title, "the conversation id", "chat_routed",
                       cloudevents.CHAT_ROUTED, model_version=True),
        output_description="Each valid chat message with its intent, sentiment, urgency and the queue it is "
                           "routed to.",
        feed=("chatSendsMessages", "chat platform", "the chat platform's messages"),
    ),
    predictions={INTENT: "intent", SENTIMENT: "sentiment"},
    alerts={"intent_surge": "n"},
))
