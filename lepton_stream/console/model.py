"""The console's in-memory view: incidents built from alert records, and support-queue load from chat.routed.

Bounded whatever the topics hold: at most `max_incidents` incidents (resolved and least recently updated ones
go first), a few state changes per incident, per-queue counts for a fixed number of event-time buckets, and the
newest escalations. Every change bumps a version that server-sent-event streams wait on.

An incident is the alerts sharing a `fingerprint` (alert lifecycle); records without one are their own incident
(their alert_id, a hash of kind, subject and window). A record without `status` is firing.
"""

from __future__ import annotations

import collections
import threading
from datetime import UTC, datetime
from typing import Any

RECORDS_PER_INCIDENT = 20
SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}


def ts(value: str | None) -> float | None:
    """Epoch seconds of an ISO-8601 time (the contracts' format), None for none or garbage."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def fingerprint(alert: dict[str, Any]) -> str:
    return str(alert.get("fingerprint") or alert["alert_id"])


def is_alert(value: Any) -> bool:
    """Enough of an alert to show: anything else on the topic is counted and skipped, never fatal."""
    try:
        return (isinstance(value, dict) and isinstance(value["alert_id"], str) and isinstance(value["kind"], str)
                and isinstance(value["subject"], str) and ts(value["window"]["start"]) is not None
                and ts(value["window"]["end"]) is not None)  # fmt: skip
    except (KeyError, TypeError):
        return False


class Incident:
    def __init__(self, fp: str) -> None:
        self.fingerprint = fp
        self.records: list[dict[str, Any]] = []
        self.updated = 0  # state version of the last record, for eviction order

    def add(self, alert: dict[str, Any], version: int) -> bool:
        if any(r["alert_id"] == alert["alert_id"] and r.get("sequence") == alert.get("sequence")
               and r.get("status") == alert.get("status") for r in self.records):  # fmt: skip
            return False  # a redelivered record (at-least-once topic): nothing new
        self.records.append(alert)
        # Ordered by the lifecycle's sequence where records carry one, else by arrival.
        self.records.sort(key=lambda r: r.get("sequence") if isinstance(r.get("sequence"), int) else 0)
        del self.records[:-RECORDS_PER_INCIDENT]
        self.updated = version
        return True

    @property
    def latest(self) -> dict[str, Any]:
        return self.records[-1]

    @property
    def status(self) -> str:
        return "resolved" if self.latest.get("status") == "resolved" else "firing"

    def view(self) -> dict[str, Any]:
        """The incident as the API shows it: what it says from its latest firing record, its status from the
        latest record of all (a resolved record may repeat less of the evidence)."""
        firing = [r for r in self.records if r.get("status") != "resolved"]
        a = firing[-1] if firing else self.latest
        first = self.records[0]
        return {
            "fingerprint": self.fingerprint,
            "status": self.status,
            "kind": a["kind"],
            "subject": a["subject"],
            "subject_name": a.get("subject_name") or a["subject"],
            "severity": a.get("severity", "low"),
            "score": a.get("score", 0.0),
            "window": a["window"],
            "starts_at": self.latest.get("starts_at") or first.get("starts_at") or first["window"]["start"],
            "ends_at": self.latest.get("ends_at"),
            "counts": a.get("counts", {}),
            "baseline": a.get("baseline", 0.0),
            "explanation": a.get("explanation", ""),
            "evidence": a.get("evidence", []),
            "propagated_from": a.get("propagated_from"),
            "model_version": a.get("model_version", ""),
            "alert_ids": list(dict.fromkeys(r["alert_id"] for r in self.records)),
            "updates": len(self.records),
            "sequence": self.latest.get("sequence"),
        }


class Queues:
    """Per-queue counts of routed chats per event-time bucket, and the newest escalations.

    "Now" is the newest sent_at seen, not the wall clock: a replayed or lagging stream still shows its own
    recent load rather than nothing."""

    def __init__(self, window_s: int, recent_buckets: int = 12, keep_buckets: int = 24, escalations: int = 50):
        self.window_s, self.recent_buckets, self.keep_buckets = window_s, recent_buckets, keep_buckets
        self.counts: dict[str, dict[int, list[int]]] = collections.defaultdict(dict)  # queue -> bucket -> [n, esc]
        self.totals: collections.Counter[str] = collections.Counter()
        self.intent_queue: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        self.escalations: collections.deque[dict[str, Any]] = collections.deque(maxlen=escalations)
        self.newest = 0.0
        self.seen_ids: collections.OrderedDict[str, None] = collections.OrderedDict()

    def add(self, r: dict[str, Any]) -> bool:
        t = ts(r.get("sent_at"))
        queue, rid = r.get("queue"), r.get("id")
        if t is None or not isinstance(queue, str) or not isinstance(rid, str):
            return False
        if rid in self.seen_ids:
            return False  # redelivered: counted once
        self.seen_ids[rid] = None
        if len(self.seen_ids) > 100_000:
            self.seen_ids.popitem(last=False)
        self.newest = max(self.newest, t)
        b = int(t // self.window_s) * self.window_s
        oldest = self._now_bucket() - (self.keep_buckets - 1) * self.window_s
        if b >= oldest:
            slot = self.counts[queue].setdefault(b, [0, 0])
            slot[0] += 1
            slot[1] += bool(r.get("escalate"))
        self.totals[queue] += 1
        intent = (r.get("intent") or {}).get("label")
        if isinstance(intent, str):
            self.intent_queue[intent][queue] += 1
        if r.get("escalate"):
            self.escalations.append({
                "id": rid, "conversation_id": r.get("conversation_id"), "sent_at": r.get("sent_at"),
                "intent": intent, "out_of_scope": bool((r.get("intent") or {}).get("out_of_scope")),
                "queue": queue, "priority": r.get("priority"), "urgency": (r.get("urgency") or {}).get("label"),
                "reasons": list(r.get("reasons") or [])[:8], "text": str(r.get("text", ""))[:240],
            })  # fmt: skip
        for q in self.counts.values():  # forget buckets that fell out of the kept span
            for old in [x for x in q if x < oldest]:
                del q[old]
        return True

    def _now_bucket(self) -> int:
        return int(self.newest // self.window_s) * self.window_s

    def queue_of(self, intent: str) -> str | None:
        c = self.intent_queue.get(intent)
        return c.most_common(1)[0][0] if c else None

    def view(self) -> dict[str, Any]:
        now_b = self._now_bucket()
        w = self.window_s
        starts = [now_b - i * w for i in range(self.keep_buckets - 1, -1, -1)]
        recent = set(starts[-self.recent_buckets:])
        rows = []
        for q in sorted(self.totals):
            buckets = self.counts.get(q, {})
            rows.append({
                "queue": q,
                "recent": sum(v[0] for b, v in buckets.items() if b in recent),
                "recent_escalated": sum(v[1] for b, v in buckets.items() if b in recent),
                "total": self.totals[q],
                "series": [buckets.get(b, [0, 0])[0] for b in starts],
            })  # fmt: skip
        rows.sort(key=lambda r: (-r["recent"], r["queue"]))
        escalations = sorted(self.escalations, key=lambda e: (ts(e["sent_at"]) or 0.0), reverse=True)
        return {
            "stream_time": datetime.fromtimestamp(self.newest, UTC).isoformat() if self.newest else None,
            "window_s": w,
            "recent_s": self.recent_buckets * w,
            "series_start": datetime.fromtimestamp(starts[0], UTC).isoformat() if self.newest else None,
            "queues": rows,
            "escalations": escalations,
        }


class ConsoleState:
    """Everything the page shows, guarded by one lock; `wait` blocks until the version moves (SSE)."""

    def __init__(self, window_s: int = 300, max_incidents: int = 500) -> None:
        self.max_incidents = max_incidents
        self.incidents: dict[str, Incident] = {}
        self.by_alert_id: dict[str, str] = {}
        self.queues = Queues(window_s)
        self.skipped = 0  # records on the topics that were not what they should be
        self.version = 0  # any change; the two below say which part changed
        self.alerts_version = 0
        self.queues_version = 0
        self.cond = threading.Condition()
        self.feed_error: str | None = None

    def _bump(self) -> None:
        self.version += 1
        self.cond.notify_all()

    def add_alert(self, value: Any) -> bool:
        with self.cond:
            if not is_alert(value):
                self.skipped += 1
                return False
            fp = fingerprint(value)
            inc = self.incidents.get(fp)
            if inc is None:
                inc = self.incidents[fp] = Incident(fp)
            if not inc.add(value, self.version + 1):
                return False
            self.by_alert_id[value["alert_id"]] = fp
            self._evict()
            self.alerts_version += 1
            if value["kind"] == "intent_surge":
                self.queues_version += 1  # the support view lists surges
            self._bump()
            return True

    def _evict(self) -> None:
        while len(self.incidents) > self.max_incidents:
            gone = min(self.incidents.values(), key=lambda i: (i.status == "firing", i.updated))
            del self.incidents[gone.fingerprint]
            for aid in [a for a, fp in self.by_alert_id.items() if fp == gone.fingerprint]:
                del self.by_alert_id[aid]

    def add_routed(self, value: Any) -> bool:
        with self.cond:
            if not isinstance(value, dict) or not self.queues.add(value):
                self.skipped += not isinstance(value, dict)
                return False
            self.queues_version += 1
            self._bump()
            return True

    def set_feed_error(self, error: str | None) -> None:
        with self.cond:
            if error != self.feed_error:
                self.feed_error = error
                self.alerts_version += 1  # the page shows it with the alerts
                self._bump()

    def incident(self, key: str) -> dict[str, Any] | None:
        """An incident by its fingerprint or by the id of any of its alerts."""
        with self.cond:
            inc = self.incidents.get(key) or self.incidents.get(self.by_alert_id.get(key, ""))
            return inc.view() if inc else None

    def alerts(self) -> dict[str, Any]:
        with self.cond:
            views = [i.view() for i in self.incidents.values()]
            skipped, error = self.skipped, self.feed_error
        # The paths through the graph of a spike: the propagated alerts it raised (same origin, same window).
        related: dict[tuple[str, str], list[dict[str, Any]]] = collections.defaultdict(list)
        for v in views:
            p = v["propagated_from"]
            if v["kind"] == "propagated_risk" and isinstance(p, dict):
                related[(str(p.get("entity")), v["window"]["start"])].append(
                    {"fingerprint": v["fingerprint"], "subject": v["subject"], "subject_name": v["subject_name"],
                     "path": p.get("path", []), "weight": p.get("weight"), "score": v["score"],
                     "severity": v["severity"], "status": v["status"]})  # fmt: skip
        for v in views:
            v["related"] = (sorted(related.get((v["subject"], v["window"]["start"]), []), key=lambda r: -r["score"])
                            if v["kind"] == "sentiment_spike" else [])  # fmt: skip
        views.sort(key=lambda v: (v["status"] != "firing", -(ts(v["window"]["end"]) or 0.0),
                                  -SEVERITY_RANK.get(v["severity"], 0), -v["score"]))  # fmt: skip
        firing = sum(v["status"] == "firing" for v in views)
        return {"incidents": views, "firing": firing, "resolved": len(views) - firing, "skipped": skipped,
                "feed_error": error}  # fmt: skip

    def support(self) -> dict[str, Any]:
        with self.cond:
            out = self.queues.view()
            surges = [i.view() for i in self.incidents.values() if i.latest["kind"] == "intent_surge"]
            for s in surges:
                s["queue"] = self.queues.queue_of(s["subject"])
        surges.sort(key=lambda v: (v["status"] != "firing", -(ts(v["window"]["end"]) or 0.0)))
        out["surges"] = [{k: s[k] for k in ("fingerprint", "status", "subject", "severity", "score", "window",
                                            "counts", "baseline", "queue", "explanation")} for s in surges]
        return out

    def wait(self, seen: int, timeout: float) -> int:
        """The version once it is past `seen`, or the current one after `timeout` seconds."""
        with self.cond:
            self.cond.wait_for(lambda: self.version > seen, timeout=timeout)
            return self.version
