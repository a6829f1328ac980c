"""The chat worker: intent + sentiment in one pass → customer facts → conversation state → routing decision,
and per-intent windows for incident (intent surge) alerts."""

from __future__ import annotations

from lepton_stream import metrics
from lepton_stream.alerts import build as alerts
from lepton_stream.asyncapi import KindDocs, Message
from lepton_stream.contracts import MAX_CHAT_TEXT, Alert, ChatMessage, ChatRouted
from lepton_stream.kafka import cloudevents
from lepton_stream.kg import GraphHolder
from lepton_stream.models.base import OUT_OF_SCOPE
from lepton_stream.models.samples import SAMPLES
from lepton_stream.pipeline.batch import Item, Output
from lepton_stream.pipeline.timing import StageTimer
from lepton_stream.pipeline.worker import Worker
from lepton_stream.routing import ConversationStore, Router
from lepton_stream.state import stage
from lepton_stream.state.monitor import Finding
from lepton_stream.state.windows import Event, part
from workers import register
from workers.kind import Kind

INTENT, SENTIMENT = "chat-intent", "chat-sentiment"


def setup(w: Worker) -> None:
    s = w.settings
    w.resources["graph"] = GraphHolder(s.kg_path)
    w.resources["router"] = Router.load(s.routing_path)
    w.resources["conversations"] = ConversationStore(w.redis, s.redis_key_prefix, ttl_s=s.conversation_ttl_s)

    def events_of(it: Item) -> list[Event]:
        intent = it.preds[INTENT]
        if intent.out_of_scope:  # off-topic chats say nothing about a support incident
            return []
        ev = {"id": it.message.id, "text": it.text[:300], "confidence": round(intent.confidence, 4)}
        ts = it.message.sent_at.timestamp()
        return [Event(part(it), intent.label, it.message.id, ts, "n", intent.confidence, ev, offset=it.record.offset)]

    def alerts_of(f: Finding) -> list[Alert]:
        minutes = s.window_s // 60
        why = f"{f.counts.get('n', 0)} '{f.subject}' chats in {minutes} min (usually about {f.baseline:.1f})"
        ev = w.resources["state"].store.evidence(f.subject, f.bucket)
        return [alerts.make("intent_surge", f.subject, f.subject, f, s.window_s, w.version, why, ev)]

    w.resources["state"] = stage.build(w, None, False, events_of, alerts_of)


def enrich(items: list[Item], w: Worker) -> None:
    kg = w.resources["graph"].graph
    for it in items:
        # The clear id when an email-shaped one was hashed (pipeline/worker.py): the graph knows customers by it.
        it.extra["customer"] = kg.customer(it.extra.get("clear_ids", {}).get("customer_id", it.message.customer_id))


def react(items: list[Item], w: Worker, t: StageTimer) -> list[Output]:
    router: Router = w.resources["router"]
    with t("state"):
        # Untrusted intents are remembered as out of scope, so follow-ups inherit only a confident intent.
        batch = [
            (m.conversation_id, m.id, it.preds[SENTIMENT].label, i.label if router.trusts(i) else OUT_OF_SCOPE,
             part(it), it.record.offset)
            for it in items
            for m, i in [(it.message, it.preds[INTENT])]
        ]
        # A Redis error propagates: the loop retries the batch, consumption paused, until Redis is back.
        states = w.resources["conversations"].apply_batch(batch)
    for it, conv in zip(items, states, strict=True):
        d = router.decide(it.preds[INTENT], it.preds[SENTIMENT], it.text, it.extra["customer"], conv)
        it.extra["route"] = d
        metrics.ROUTED.labels(d.queue, str(d.escalate).lower()).inc()
    return w.resources["state"].apply(items, w, t)


def render(it: Item, w: Worker) -> Output:
    msg: ChatMessage = it.message
    d = it.extra["route"]
    out = ChatRouted(
        id=msg.id,
        conversation_id=msg.conversation_id,
        customer_id=msg.customer_id,
        sent_at=msg.sent_at,
        text=it.text,
        model_version=w.version,
        intent=it.preds[INTENT],
        sentiment=it.preds[SENTIMENT],
        urgency=d.urgency,
        queue=d.queue,
        priority=d.priority,
        escalate=d.escalate,
        reasons=d.reasons,
    )
    event = cloudevents.routed(w.spec.kind, msg.id, msg.conversation_id, msg.sent_at)
    return Output.of(w.settings.topic_chat_routed, msg.conversation_id, out, event, model_version=w.version)


SPEC = register(Kind(
    kind="chat",
    contract=ChatMessage,
    input_topic=lambda s: s.topic_chat_raw,
    setup=setup,
    enrich=enrich,
    react=react,
    render=render,
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
