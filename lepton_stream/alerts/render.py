"""Alerts as text for a terminal: one place for the demo's listing and `lepton-stream alerts tail`."""

from __future__ import annotations

import collections
from collections.abc import Iterable
from datetime import datetime
from typing import Any


def _when(a: dict[str, Any]) -> str:
    """When the record happened: a resolved one at its incident's end, any other at its window's start."""
    return (a.get("ends_at") if a.get("status") == "resolved" else None) or a["window"]["start"]


def sort_key(a: dict[str, Any]) -> tuple:
    """By time (a resolution at its incident's end, after what it resolves), an incident's own spike before the
    alerts it propagated, then by score."""
    return _when(a), a["kind"] != "sentiment_spike", -a["score"]


def _status(a: dict[str, Any]) -> str:
    """The lifecycle status after the score: firing, escalated (#n) for an update, resolved with how long the
    incident lasted."""
    status = a.get("status")
    if not status:
        return ""
    if status == "resolved":
        starts, ends = a.get("starts_at"), a.get("ends_at")
        if not (starts and ends):
            return " resolved"
        lasted = datetime.fromisoformat(ends) - datetime.fromisoformat(starts)
        return f" resolved after {int(lasted.total_seconds() // 60)} min ({starts[11:16]}-{ends[11:16]})"
    seq = int(a.get("sequence") or 1)
    return f" escalated (#{seq})" if seq > 1 else f" {status}"


def lines(a: dict[str, Any]) -> list[str]:
    """One alert: severity, kind, subject, window (HH:MM-HH:MM) and score; its explanation; its best evidence.
    A lifecycle status, when the alert has one, follows the score; a resolution is one line (the rest would
    repeat the incident's last record) with [RESOLVED] in place of the severity."""
    w = a["window"]["start"][11:16] + "-" + a["window"]["end"][11:16]
    resolved = a.get("status") == "resolved"
    badge = "RESOLVED" if resolved else f"{a['severity']:>8}"
    out = [f"  [{badge}] {a['kind']:<16} {a['subject_name'][:30] or a['subject'][:30]:<30} {w} "
           f"score {a['score']:.2f}{_status(a)}"]  # fmt: skip
    if resolved:
        return out
    out.append(f"             {a['explanation'][:150]}")
    if a["kind"] != "propagated_risk" and a["evidence"]:
        ev = a["evidence"][0]
        out.append(f"             evidence: {ev['id']} \"{ev['text'][:80]}\"")
    return out


def by_kind(alerts: Iterable[dict[str, Any]]) -> str:
    """A count by kind, and by lifecycle status when the records have one."""
    alerts = list(alerts)
    kinds = collections.Counter(a["kind"] for a in alerts)
    line = "  by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
    statuses = collections.Counter(_label(a) for a in alerts if a.get("status"))
    if statuses:
        line += "; by status: " + ", ".join(f"{k} {statuses[k]}" for k in ("firing", "escalated", "resolved")
                                             if statuses[k])  # fmt: skip
    return line


def _label(a: dict[str, Any]) -> str:
    if a.get("status") == "resolved":
        return "resolved"
    return "escalated" if int(a.get("sequence") or 1) > 1 else "firing"
