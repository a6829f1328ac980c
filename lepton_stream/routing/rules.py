"""The routing file: parsed with tomllib, validated with pydantic, checked across sections.

The format is documented in `lepton_stream/data/routing.toml` itself and in docs/routing.md.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

Priority = Annotated[int, Field(ge=1, le=5)]
Bump = Annotated[float, Field(ge=0.0, le=4.0)]


class RoutingFileError(ValueError):
    """The routing file is unreadable or inconsistent; the message names the file and every problem."""


class _Strict(BaseModel):
    # Unknown keys are typos in a hand-edited file: reject them instead of silently ignoring a rule.
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoutingSection(_Strict):
    default_queue: str
    triage_queue: str
    min_intent_confidence: Annotated[float, Field(ge=0.0, le=1.0)] = 0.45
    negative_labels: list[str] = ["negative"]
    sentiment_values: dict[str, Annotated[float, Field(ge=-1.0, le=1.0)]] = {
        "negative": -1.0,
        "neutral": 0.0,
        "positive": 1.0,
    }
    negative_min_confidence: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5


class UrgentSection(_Strict):
    priority: Priority = 1
    intents: list[str] = []


class SignalsSection(_Strict):
    negative_sentiment: Bump = 1.0
    worsening: Bump = 1.0
    negative_streak_min: Annotated[int, Field(ge=2)] = 2
    trend_drop: Annotated[float, Field(gt=0.0, le=2.0)] = 1.0
    repeat_contact: Bump = 1.0
    repeat_contact_min: Annotated[int, Field(ge=2)] = 5
    repeat_intent: Bump = 0.5
    repeat_intent_min: Annotated[int, Field(ge=2)] = 2
    keyword: Bump = 0.5
    keywords: list[Annotated[str, Field(min_length=2)]] = []


class EscalationSection(_Strict):
    raw_priority_at_most: float = 0.0
    negative_streak: Annotated[int, Field(ge=1)] = 3
    repeat_intent: Annotated[int, Field(ge=2)] = 4


class QueueSection(_Strict):
    description: str = ""
    priority: Priority = 3
    intents: list[str] = []


class RoutingFile(_Strict):
    routing: RoutingSection
    urgent: UrgentSection = UrgentSection()
    signals: SignalsSection = SignalsSection()
    tiers: dict[str, Bump] = {}
    escalation: EscalationSection = EscalationSection()
    queues: dict[str, QueueSection]
    intent_priority: dict[str, Priority] = {}


class RoutingRules:
    """The validated routing file plus the lookups the router needs."""

    def __init__(self, spec: RoutingFile, source: str) -> None:
        self.spec = spec
        self.source = source
        self.queue_of: dict[str, str] = {}
        problems: list[str] = []
        for queue, q in spec.queues.items():
            for intent in q.intents:
                if intent in self.queue_of:
                    where = "twice in" if self.queue_of[intent] == queue else f"in {self.queue_of[intent]!r} and"
                    problems.append(f"intent {intent!r} is listed {where} queue {queue!r}")
                else:
                    self.queue_of[intent] = queue
        for key in ("default_queue", "triage_queue"):
            name = getattr(spec.routing, key)
            if name not in spec.queues:
                problems.append(f"routing.{key} = {name!r} is not a defined queue (queues: {sorted(spec.queues)})")
        # Overrides for intents no queue owns are almost always typos of an intent name.
        for section, intents in (("urgent.intents", spec.urgent.intents), ("intent_priority", spec.intent_priority)):
            for intent in intents:
                if intent not in self.queue_of:
                    problems.append(f"{section}: intent {intent!r} is not listed under any queue")
        if len(set(spec.urgent.intents)) != len(spec.urgent.intents):
            problems.append("urgent.intents lists an intent more than once")
        if problems:
            raise RoutingFileError(f"{source}: " + "; ".join(problems))
        self.urgent = frozenset(spec.urgent.intents)
        self.negative = frozenset(spec.routing.negative_labels)

    def base_priority(self, intent: str, queue: str) -> int:
        if intent in self.spec.intent_priority:
            return self.spec.intent_priority[intent]
        if intent in self.urgent:
            return self.spec.urgent.priority
        return self.spec.queues[queue].priority

    def unmapped(self, labels: list[str] | tuple[str, ...]) -> list[str]:
        """Labels of a model that no queue owns (they go to the default queue); for a warning at start."""
        return [x for x in labels if x not in self.queue_of]


SHIPPED = "routing.toml"


def load_rules(path: Path | None = None) -> RoutingRules:
    """Read and validate a routing file; `None` loads the one shipped in lepton_stream/data."""
    try:
        if path is None:
            source = f"lepton_stream/data/{SHIPPED}"
            raw = resources.files("lepton_stream").joinpath("data").joinpath(SHIPPED).read_bytes()
        else:
            source = str(path)
            raw = Path(path).read_bytes()
        data = tomllib.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RoutingFileError(f"{source}: cannot read routing file: {exc}") from None
    try:
        spec = RoutingFile.model_validate(data)
    except ValidationError as exc:
        lines = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise RoutingFileError(f"{source}: " + "; ".join(lines)) from None
    return RoutingRules(spec, source)
