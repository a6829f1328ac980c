"""Routing decisions for chat messages: pure logic over the predictions, the text and the conversation state.

Decision arithmetic (also in docs/routing.md):
    raw = base priority - sum of the bumps of every signal that fired
    priority = ceil(raw) clamped to 1..5; urgency score = (5 - raw) / 4 clamped to 0..1
    escalate = raw <= escalation.raw_priority_at_most, or the negative-streak / repeated-intent rule
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lepton_stream.contracts import IntentPrediction, Prediction, Urgency
from lepton_stream.routing.conversation_state import ConversationState
from lepton_stream.routing.rules import RoutingRules, load_rules

OUT_OF_SCOPE = "oos"
_URGENCY_BY_PRIORITY = {1: "critical", 2: "high", 3: "normal", 4: "low", 5: "low"}


@dataclass(frozen=True)
class RoutingDecision:
    queue: str
    priority: int  # 1 = most urgent .. 5
    escalate: bool
    reasons: list[str] = field(default_factory=list)
    urgency: Urgency = field(default_factory=lambda: Urgency(label="normal", score=0.5))


class Router:
    def __init__(self, rules: RoutingRules) -> None:
        self.rules = rules
        spec = rules.spec
        # Keywords are word prefixes ("unauthori" catches unauthorised/unauthorized); matched case-insensitively.
        words = sorted({k.lower() for k in spec.signals.keywords}, key=len, reverse=True)
        self._keywords = (
            re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\w*", re.IGNORECASE) if words else None
        )

    @classmethod
    def load(cls, path: Path | None = None) -> Router:
        """Load and validate a routing file; `None` uses the shipped lepton_stream/data/routing.toml."""
        return cls(load_rules(path))

    def is_negative(self, sentiment: Prediction) -> bool:
        r = self.rules.spec.routing
        return sentiment.label in self.rules.negative and sentiment.confidence >= r.negative_min_confidence

    def trusts(self, intent: IntentPrediction) -> bool:
        """Whether an intent is confident and in scope enough to route on (and to remember for follow-ups)."""
        spec = self.rules.spec
        return not (intent.out_of_scope or intent.label == OUT_OF_SCOPE) and (
            intent.confidence >= spec.routing.min_intent_confidence
        )

    def decide(
        self,
        intent: IntentPrediction,
        sentiment: Prediction,
        text: str,
        customer: dict[str, Any] | None,
        conversation: ConversationState,
    ) -> RoutingDecision:
        spec = self.rules.spec
        sig = spec.signals
        reasons: list[str] = []
        bumps = 0.0

        # 1. Queue and base priority from the intent (or triage when the intent cannot be trusted).
        trusted = False
        if intent.out_of_scope or intent.label == OUT_OF_SCOPE:
            queue = spec.routing.triage_queue
            reasons.append(f"out-of-scope intent -> {queue}")
        elif intent.confidence < spec.routing.min_intent_confidence:
            queue = spec.routing.triage_queue
            reasons.append(
                f"low intent confidence {intent.confidence:.2f} < {spec.routing.min_intent_confidence:.2f}"
                f" ({intent.label}) -> {queue}"
            )
        elif intent.label in self.rules.queue_of:
            queue = self.rules.queue_of[intent.label]
            trusted = True
            reasons.append(f"intent {intent.label} -> {queue}")
        else:
            queue = spec.routing.default_queue
            reasons.append(f"intent {intent.label} not in routing file -> {queue}")
        base = self.rules.base_priority(intent.label, queue) if trusted else spec.queues[queue].priority
        if not trusted:
            # "Still waiting!" says nothing about the topic: a follow-up stays with the conversation's intent.
            previous = next((i for i in reversed(conversation.last_intents[:-1]) if i in self.rules.queue_of), None)
            if previous is not None:
                queue = self.rules.queue_of[previous]
                base = self.rules.base_priority(previous, queue)
                reasons[-1] = f"no clear intent; follow-up in a conversation about {previous} -> {queue}"
        if trusted and intent.label in self.rules.urgent:
            reasons.append(f"urgent intent {intent.label}")

        # 2. Sentiment of this message and of the conversation so far.
        negative = self.is_negative(sentiment)
        if negative:
            bumps += sig.negative_sentiment
            reasons.append(f"negative sentiment ({sentiment.confidence:.2f})")
        streak = conversation.negative_streak
        if streak >= sig.negative_streak_min:
            bumps += sig.worsening
            reasons.append(f"{streak} negative messages in a row")
        elif (
            spec.routing.sentiment_values.get(sentiment.label, 0.0) <= 0
            and self._trend_drop(conversation) >= sig.trend_drop
        ):
            bumps += sig.worsening
            reasons.append("sentiment worsening over the conversation")

        # 3. Repeated contact: a long conversation, or the same intent again.
        if conversation.message_count >= sig.repeat_contact_min:
            bumps += sig.repeat_contact
            reasons.append(f"{conversation.message_count} messages in this conversation")
        repeats = conversation.last_intents.count(intent.label) if trusted else 0
        if repeats >= sig.repeat_intent_min:
            bumps += sig.repeat_intent
            reasons.append(f"intent {intent.label} seen {repeats} times in this conversation")

        # 4. Customer tier from the knowledge graph.
        tier = str((customer or {}).get("tier") or "").lower()
        tier_bump = spec.tiers.get(tier, 0.0)
        if tier_bump > 0:
            bumps += tier_bump
            reasons.append(f"{tier} customer")

        # 5. Urgency words in the masked text: a light signal.
        hits = self._keyword_hits(text)
        if hits:
            bumps += sig.keyword
            reasons.append("urgency words: " + ", ".join(hits[:3]))

        raw = base - bumps
        priority = min(5, max(1, math.ceil(raw - 1e-9)))
        score = min(1.0, max(0.0, (5.0 - raw) / 4.0))
        if priority != base:
            reasons.append(f"priority {base} -> {priority}")

        # 6. Escalation.
        esc = spec.escalation
        escalate = False
        if raw <= esc.raw_priority_at_most:
            escalate = True
            reasons.append("escalated: signals exceed the top priority")
        if streak >= esc.negative_streak:
            escalate = True
            reasons.append(f"escalated: {streak} negative messages in a row")
        if repeats >= esc.repeat_intent:
            escalate = True
            reasons.append(f"escalated: intent {intent.label} unresolved after {repeats} messages")

        urgency = Urgency(label=_URGENCY_BY_PRIORITY[priority], score=round(score, 4))
        return RoutingDecision(queue=queue, priority=priority, escalate=escalate, reasons=reasons, urgency=urgency)

    def _trend_drop(self, conversation: ConversationState) -> float:
        """Mean sentiment value of earlier messages minus that of the last two (positive = getting worse)."""
        values = self.rules.spec.routing.sentiment_values
        seq = [values.get(s, 0.0) for s in conversation.last_sentiments]
        if len(seq) < 3:
            return 0.0
        earlier, recent = seq[:-2], seq[-2:]
        return sum(earlier) / len(earlier) - sum(recent) / len(recent)

    def _keyword_hits(self, text: str) -> list[str]:
        if self._keywords is None or not text:
            return []
        seen: list[str] = []
        for m in self._keywords.finditer(text):
            word = m.group(1).lower()
            if word not in seen:
                seen.append(word)
        return seen
