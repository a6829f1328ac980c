"""Alerts as text for a terminal: one place for the demo's listing and `lepton-stream alerts tail`."""

from __future__ import annotations

import collections
from collections.abc import Iterable
from typing import Any


def sort_key(a: dict[str, Any]) -> tuple:
    """By window, an incident's own spike before the alerts it propagated, then by score."""
    return a["window"]["start"], a["kind"] != "sentiment_spike", -a["score"]


def lines(a: dict[str, Any]) -> list[str]:
    """One alert: severity, kind, subject, window (HH:MM-HH:MM) and score; its explanation; its best evidence.
    A lifecycle status, when the alert has one, follows the score."""
    w = a["window"]["start"][11:16] + "-" + a["window"]["end"][11:16]
    status = f" {a['status']}" if a.get("status") else ""
    out = [f"  [{a['severity']:>8}] {a['kind']:<16} {a['subject_name'][:30] or a['subject'][:30]:<30} {w} "
           f"score {a['score']:.2f}{status}",  # fmt: skip
           f"             {a['explanation'][:150]}"]
    if a["kind"] != "propagated_risk" and a["evidence"]:
        ev = a["evidence"][0]
        out.append(f"             evidence: {ev['id']} \"{ev['text'][:80]}\"")
    return out


def by_kind(alerts: Iterable[dict[str, Any]]) -> str:
    kinds = collections.Counter(a["kind"] for a in alerts)
    return "  by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
