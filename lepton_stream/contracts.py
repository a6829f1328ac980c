"""Message contracts (docs/design.md §2): one pydantic model per topic. `schemas/` is generated from these."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

# Ids are opaque but bounded and printable, so they are safe as Kafka keys, Redis keys and log fields.
Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$")]
Label = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Ticker = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9.\-]{0,9}$")]
Lang = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")]
Score = Annotated[float, Field(ge=0.0, le=1.0)]
Signed = Annotated[float, Field(ge=-1.0, le=1.0)]

MAX_HEADLINE = 1_000
MAX_BODY = 20_000
MAX_CHAT_TEXT = 4_000


class Contract(BaseModel):
    # Unknown fields from newer producers are ignored; wrong types are rejected, never coerced from numbers.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False, frozen=True)


# ---------------------------------------------------------------- inputs


class NewsItem(Contract):
    id: Id
    source: Id
    published_at: AwareDatetime
    headline: Annotated[str, StringConstraints(min_length=1, max_length=MAX_HEADLINE)]
    body: Annotated[str, StringConstraints(max_length=MAX_BODY)] | None = None
    lang: Lang | None = None
    tickers: Annotated[list[Ticker], Field(max_length=32)] | None = None

    @property
    def text(self) -> str:
        return self.headline

    @property
    def event_time(self) -> datetime:
        return self.published_at

    @property
    def key(self) -> str:
        return self.source


Channel = Literal["web", "app", "email", "phone", "sms", "social"]


class ChatMessage(Contract):
    id: Id
    conversation_id: Id
    customer_id: Id
    channel: Channel
    sent_at: AwareDatetime
    text: Annotated[str, StringConstraints(min_length=1, max_length=MAX_CHAT_TEXT)]
    lang: Lang | None = None

    @property
    def event_time(self) -> datetime:
        return self.sent_at

    @property
    def key(self) -> str:
        return self.conversation_id


# ---------------------------------------------------------------- model outputs


class Prediction(Contract):
    label: Label
    confidence: Score
    scores: dict[Label, Score]  # every label of a task with up to five, else the five most likely


class IntentPrediction(Prediction):
    out_of_scope: bool = False


# ---------------------------------------------------------------- news.enriched


class EntityMention(Contract):
    id: Id
    name: Annotated[str, StringConstraints(max_length=200)]
    type: Label
    span: tuple[Annotated[int, Field(ge=0)], Annotated[int, Field(ge=0)]]


class ImpactedEntity(Contract):
    entity: Id
    name: Annotated[str, StringConstraints(max_length=200)]
    path: Annotated[list[str], Field(max_length=16)]
    weight: Score
    propagated_sentiment: Signed


class NewsEnriched(Contract):
    id: Id
    source: Id
    published_at: AwareDatetime
    headline: Annotated[str, StringConstraints(max_length=MAX_HEADLINE)]
    model_version: Label
    sentiment: Prediction
    entities: list[EntityMention] = []
    impacted: list[ImpactedEntity] = []
    explanation: Annotated[list[str], Field(max_length=64)] = []


# ---------------------------------------------------------------- chat.routed


class Urgency(Contract):
    label: Literal["low", "normal", "high", "critical"]
    score: Score


class ChatRouted(Contract):
    id: Id
    conversation_id: Id
    customer_id: Id
    sent_at: AwareDatetime
    text: Annotated[str, StringConstraints(max_length=MAX_CHAT_TEXT)]
    model_version: Label
    intent: IntentPrediction
    sentiment: Prediction
    urgency: Urgency
    queue: Label
    priority: Annotated[int, Field(ge=1, le=5, description="1 = most urgent")]
    escalate: bool
    reasons: Annotated[list[str], Field(max_length=32)]


# ---------------------------------------------------------------- alerts


class Window(Contract):
    start: AwareDatetime
    end: AwareDatetime


class Evidence(Contract):
    id: Id
    text: Annotated[str, StringConstraints(max_length=MAX_HEADLINE)]
    confidence: Score
    explanation: list[str] | None = None


class PropagatedFrom(Contract):
    entity: Id
    path: Annotated[list[str], Field(max_length=16)]
    weight: Score


class Alert(Contract):
    alert_id: Annotated[str, StringConstraints(pattern=r"^[a-f0-9]{32}$")]
    kind: Literal["sentiment_spike", "propagated_risk", "intent_surge"]
    subject: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    subject_name: Annotated[str, StringConstraints(max_length=200)] = ""
    window: Window
    counts: dict[Label, Annotated[int, Field(ge=0)]]
    baseline: Annotated[float, Field(ge=0.0)]
    score: Score
    severity: Literal["low", "medium", "high", "critical"]
    evidence: Annotated[list[Evidence], Field(max_length=20)]
    explanation: Annotated[str, StringConstraints(max_length=2_000)] = ""
    propagated_from: PropagatedFrom | None = None
    model_version: Label
    # Lifecycle (docs/alerts.md, "Lifecycle"): each record is one state change of an incident. Defaults keep
    # records written before these fields valid: a record without them is a firing with sequence 1.
    status: Literal["firing", "resolved"] = "firing"
    sequence: Annotated[int, Field(ge=1, description="1 = first firing; +1 per update and at resolution")] = 1
    fingerprint: Annotated[str, StringConstraints(pattern=r"^[a-f0-9]{16}$")] | None = Field(
        None, description="The same on every record of one incident (kind, subject, origin, starts_at)")
    starts_at: AwareDatetime | None = Field(None, description="Start of the incident's first alerting window")
    ends_at: AwareDatetime | None = Field(None, description="When resolved: end of its last elevated window")


# ---------------------------------------------------------------- dead letters and feedback


class DeadLetter(Contract):
    """A record the worker could not turn into an output, with why and where it came from.

    The original is kept up to LEPTON_DLQ_MAX_ORIGINAL_BYTES, so a dead letter always fits the producer's
    request limit; a longer one keeps its first bytes (`original_truncated`), its size and its sha256.
    `partition` and `offset` are -1 for an output that had no input record (an alert)."""

    original_b64: str
    original_key_b64: str | None = None
    original_bytes: Annotated[int, Field(ge=0)] = 0
    original_truncated: bool = False
    error: Annotated[str, StringConstraints(max_length=2_000)]
    reason: Literal[
        "too_large", "bad_encoding", "bad_json", "invalid", "stage_failed", "undecodable", "send_failed",
        "future_timestamp", "undeliverable",
    ]
    source_topic: Annotated[str, StringConstraints(min_length=1, max_length=249)]
    partition: Annotated[int, Field(ge=-1)]
    offset: Annotated[int, Field(ge=-1)]
    first_seen: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    worker: Annotated[str, StringConstraints(max_length=128)] = ""
    # LEPTON_DLQ_PAYLOAD=masked: original_b64 is empty and original_key_b64 null; the record's text with its
    # personal data masked and the sha256 of its bytes (to match it with the producer's copy) instead.
    payload: Literal["original", "masked"] = "original"
    masked_text: str | None = None
    original_sha256: Annotated[str, StringConstraints(pattern=r"^[a-f0-9]{64}$")] | None = None
    # reason `undeliverable` (the relay): the webhook target that kept refusing the alert, to replay it there only.
    target: Annotated[str, StringConstraints(max_length=128)] | None = None


class Feedback(Contract):
    id: Id
    task: Label
    label: Label
    by: Annotated[str, StringConstraints(max_length=128)] | None = None
    at: AwareDatetime | None = None


# Every topic's contract, by the name its JSON Schema file gets.
CONTRACTS: dict[str, type[Contract]] = {
    "news_item": NewsItem,
    "chat_message": ChatMessage,
    "news_enriched": NewsEnriched,
    "chat_routed": ChatRouted,
    "alert": Alert,
    "dead_letter": DeadLetter,
    "feedback": Feedback,
}
