"""The chat worker: intent + sentiment in one pass → customer facts → conversation state → routing decision."""

from __future__ import annotations

from lepton_stream.contracts import ChatMessage, ChatRouted
from lepton_stream.pipeline.batch import Item, Output
from lepton_stream.pipeline.timing import StageTimer
from lepton_stream.pipeline.worker import Worker, WorkerSpec

INTENT, SENTIMENT = "chat-intent", "chat-sentiment"


def enrich(items: list[Item], w: Worker) -> None:
    holder = w.resources.get("graph")
    for it in items:
        it.extra["customer"] = holder.graph.customer(it.message.customer_id) if holder is not None else None


def react(items: list[Item], w: Worker, t: StageTimer) -> list[Output]:
    state = w.resources.get("state")
    return state.apply(items, w, t) if state is not None else []


def render(it: Item, w: Worker) -> Output:
    msg: ChatMessage = it.message
    d = it.extra["route"]
    out = ChatRouted(
        id=msg.id,
        conversation_id=msg.conversation_id,
        customer_id=msg.customer_id,
        sent_at=msg.sent_at,
        text=it.text,
        model_version=w.model.version,
        intent=it.preds[INTENT],
        sentiment=it.preds[SENTIMENT],
        urgency=d.urgency,
        queue=d.queue,
        priority=d.priority,
        escalate=d.escalate,
        reasons=d.reasons,
    )
    return Output.of(w.settings.topic_chat_routed, msg.conversation_id, out, model_version=w.model.version)


SPEC = WorkerSpec(
    kind="chat",
    contract=ChatMessage,
    input_topic=lambda s: s.topic_chat_raw,
    enrich=enrich,
    react=react,
    render=render,
)
