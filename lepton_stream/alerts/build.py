"""Alert messages from findings: deterministic ids, severity, evidence and a readable explanation."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from lepton_stream.contracts import Alert, Evidence, PropagatedFrom, Window


@dataclass(frozen=True)
class Finding:
    """What the monitor (state/monitor.py) found in one subject's closed or open bucket: what alerts are made of."""

    subject: str
    signal: str  # "count" or "share"
    bucket: int
    score: float
    counts: dict[str, int]
    baseline: float
    closed: bool


def alert_id(kind: str, subject: str, window_start: int, origin: str = "") -> str:
    """Same kind + subject + window (+ origin) → same id, whichever pod or redelivery computes it. The worker
    replaces it with the id of the record's lifecycle state change (state/lifecycle.py `record_id`)."""
    return hashlib.sha256(f"{kind}|{subject}|{window_start}|{origin}".encode()).hexdigest()[:32]


def severity(score: float, volume: int) -> str:
    if score >= 0.9 and volume >= 20:
        return "critical"
    if score >= 0.75 and volume >= 10:
        return "high"
    if score >= 0.6:
        return "medium"
    return "low"


def window(f: Finding, width_s: int) -> Window:
    return Window(start=datetime.fromtimestamp(f.bucket, UTC), end=datetime.fromtimestamp(f.bucket + width_s, UTC))


def evidence(items: list[dict], limit: int = 5) -> list[Evidence]:
    best = sorted(items, key=lambda e: -float(e.get("confidence", 0.0)))[:limit]
    return [Evidence(id=e["id"], text=e["text"][:1000], confidence=float(e["confidence"]),
                     explanation=e.get("explanation")) for e in best]  # fmt: skip


def make(kind: str, subject: str, subject_name: str, f: Finding, width_s: int, model_version: str,
         explanation: str, ev: list[dict], propagated: PropagatedFrom | None = None,
         score: float | None = None) -> Alert:  # fmt: skip
    s = f.score if score is None else score
    return Alert(
        alert_id=alert_id(kind, subject, f.bucket, propagated.entity if propagated else ""),
        kind=kind,  # type: ignore[arg-type]
        subject=subject,
        subject_name=subject_name,
        window=window(f, width_s),
        counts=f.counts,
        baseline=max(0.0, f.baseline),
        score=round(min(1.0, max(0.0, s)), 4),
        severity=severity(s, f.counts.get("n", 0)),  # type: ignore[arg-type]
        evidence=evidence(ev),
        explanation=explanation[:2000],
        propagated_from=propagated,
        model_version=model_version,
    )
