"""Alert and chat.routed records for the console tests, valid by the contracts (lifecycle fields optional)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from lepton_stream.alerts.build import alert_id
from lepton_stream.contracts import Alert, ChatRouted

T0 = datetime(2026, 12, 1, 11, 35, tzinfo=UTC)


def alert(kind: str = "sentiment_spike", subject: str = "TSM", start: datetime = T0, width_s: int = 300,
          origin: str = "", **lifecycle: Any) -> dict[str, Any]:  # fmt: skip
    propagated = {"entity": origin, "path": [origin, "supplier_of->", subject], "weight": 0.45} if origin else None
    a = Alert(
        alert_id=alert_id(kind, subject, int(start.timestamp()), origin),
        kind=kind,  # type: ignore[arg-type]
        subject=subject,
        subject_name={"TSM": "Taiwan Semiconductor Manufacturing Company", "AAPL": "Apple Inc."}.get(subject, subject),
        window={"start": start, "end": start + timedelta(seconds=width_s)},  # type: ignore[arg-type]
        counts={"n": 13, "negative": 13},
        baseline=0.4,
        score=0.45 if origin else 1.0,
        severity="low" if origin else "high",
        evidence=[{"id": "news-1-inc00010", "text": "Fire at TSMC plant sparks fears of global chip shortage",
                   "confidence": 0.97, "explanation": ["fire", "shortage", "fears"]}],  # fmt: skip
        explanation=f"13 negative of 13 mentions of {subject} in 5 min (usually about 0.4)",
        propagated_from=propagated,  # type: ignore[arg-type]
        model_version="news-quick-test",
    ).model_dump(mode="json")
    return {**a, **lifecycle}


def routed(i: int, queue: str, intent: str, at: datetime, escalate: bool = False) -> dict[str, Any]:
    return ChatRouted(
        id=f"msg-{i}", conversation_id=f"conv-{i}", customer_id=f"cust-{i}", sent_at=at,
        text="my card does not work, card number [CARD]", model_version="chat-quick-test",
        intent={"label": intent, "confidence": 0.9, "scores": {intent: 0.9}},  # type: ignore[arg-type]
        sentiment={"label": "negative", "confidence": 0.8, "scores": {"negative": 0.8}},  # type: ignore[arg-type]
        urgency={"label": "high" if escalate else "normal", "score": 0.7},  # type: ignore[arg-type]
        queue=queue, priority=1 if escalate else 3, escalate=escalate,
        reasons=[f"intent {intent} -> {queue}"] + (["urgent intent"] if escalate else []),
    ).model_dump(mode="json")  # fmt: skip
