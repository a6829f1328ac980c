"""What the router knows about a conversation, as it stood right after the current message was applied."""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

# How many recent intents / sentiment labels the state keeps (bounded so the hash stays small).
HISTORY = 10


@dataclass(frozen=True)
class ConversationState:
    conversation_id: str
    message_count: int = 0
    negative_count: int = 0
    negative_streak: int = 0  # consecutive negative messages ending with the current one
    last_intents: tuple[str, ...] = ()  # oldest first, the current message's intent last
    last_sentiments: tuple[str, ...] = ()  # same order, sentiment labels
    first_seen: float = 0.0  # Redis server time, epoch seconds (ms precision)
    last_seen: float = 0.0
    # True when this message id had already been applied: the state is the stored snapshot of that
    # first application. Excluded from equality so a redelivery compares equal to the original.
    replayed: bool = field(default=False, compare=False)

    @classmethod
    def single(cls, conversation_id: str, sentiment_label: str, intent_label: str, negative: bool) -> ConversationState:
        """The state of a one-message conversation: what the router uses when Redis is unavailable."""
        return cls(
            conversation_id=conversation_id,
            message_count=1,
            negative_count=int(negative),
            negative_streak=int(negative),
            last_intents=(intent_label,),
            last_sentiments=(sentiment_label,),
        )

    @classmethod
    def from_snapshot(cls, conversation_id: str, snapshot: str | bytes, replayed: bool) -> ConversationState:
        d = orjson.loads(snapshot)
        return cls(
            conversation_id=conversation_id,
            message_count=int(d["n"]),
            negative_count=int(d["neg"]),
            negative_streak=int(d["streak"]),
            last_intents=tuple(d["intents"]),
            last_sentiments=tuple(d["sents"]),
            first_seen=int(d["first"]) / 1000.0,
            last_seen=int(d["last"]) / 1000.0,
            replayed=replayed,
        )
