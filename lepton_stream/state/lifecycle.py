"""Incident lifecycle: an incident fires, gets an update when it escalates, and resolves once quiet.

An incident belongs to the subject whose detector found it (its state lives in that subject's detector state,
advanced by the same compare-and-set as the detector, state/monitor.py). Its members are the alerts its
findings produce: the subject's own alert and the ones propagated from it (news: `propagated_risk` of related
entities). Each member is one incident as subscribers see it, identified by (kind, subject, origin), with its
own `fingerprint` and `sequence`:

- **firing**: the first finding of a subject without an open incident opens one; every member gets a record
  with status `firing`, sequence 1, `starts_at` = the start of the finding's window.
- **update**: a later finding whose severity ranks above the incident's highest so far, or whose score is at
  least `SCORE_MARGIN` above its highest score, rebuilds the members' alerts: each gets a firing record,
  sequence + 1 (a member new to the incident, sequence 1). A finding that does not rise emits nothing.
- **resolved**: a closed window is elevated while its count is at least the minimum alert count and more than
  three Poisson standard deviations above the level the subject had when the incident opened; once no window
  was elevated for `resolve_after_s` of event time, every member gets a record with status `resolved`,
  sequence + 1 and `ends_at` = the end of the last elevated window. It repeats the member's last record
  otherwise (the monitor reads it from its claim).

A new finding after resolution opens a new incident (a new `starts_at`, so a new fingerprint). Every record's
`alert_id` is derived from (fingerprint, sequence): stable per state change, so the monitor's SET NX claim of
it makes each state change published once, whatever redelivers or re-scores it.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lepton_stream.alerts.build import severity

SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}
SCORE_MARGIN = 0.1  # a score rise smaller than this is the same incident saying the same thing again


def fingerprint(kind: str, subject: str, origin: str, starts_at: int) -> str:
    """Same member of the same incident -> same fingerprint (16 hex digits, as Alertmanager's)."""
    return hashlib.sha256(f"{kind}|{subject}|{origin}|{starts_at}".encode()).hexdigest()[:16]


def record_id(fp: str, sequence: int) -> str:
    """The alert_id of one state change: whichever pod or redelivery computes it, the same."""
    return hashlib.sha256(f"{fp}|{sequence}".encode()).hexdigest()[:32]


def iso(ts: int | float) -> str:
    """Epoch seconds as the contract's timestamps are written (pydantic's JSON form of an aware UTC time)."""
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def member_key(alert: dict[str, Any]) -> str:
    origin = (alert.get("propagated_from") or {}).get("entity", "")
    return f"{alert.get('kind', '')}|{alert.get('subject', '')}|{origin}"


@dataclass
class Resolution:
    """A member's resolved record, to be completed from its last published record (`last_id`)."""

    last_id: str
    fields: dict[str, Any]


@dataclass
class Changes:
    """What one subject's run produced, in order: firing records (complete) and resolutions (to complete from
    the member's last record); and whether the incident state changed (it must then be stored even when no
    window closed)."""

    records: list[dict[str, Any] | Resolution] = field(default_factory=list)
    dirty: bool = False

    @property
    def resolutions(self) -> list[Resolution]:
        return [r for r in self.records if isinstance(r, Resolution)]


@dataclass(frozen=True)
class Lifecycle:
    window_s: int
    resolve_after_s: int
    min_count: int

    @property
    def quiet_buckets(self) -> int:
        """Quiet windows before resolution: resolve_after_s rounded up to whole windows, at least one."""
        return max(1, math.ceil(self.resolve_after_s / self.window_s))

    def elevated(self, incident: dict[str, Any], value: float) -> bool:
        base = float(incident["baseline"])
        return value >= self.min_count and value > base + 3.0 * math.sqrt(max(base, 1.0))

    def resolvable_at(self, incident: dict[str, Any]) -> int:
        """The window whose close resolves the incident if none is elevated before: the trigger's score."""
        return int(incident["hot"]) + self.quiet_buckets * self.window_s

    def on_finding(self, state: dict[str, Any], f: Any, make_alerts: Callable[[Any], list[dict[str, Any]]],
                   out: Changes) -> None:  # fmt: skip
        """A finding (state/monitor.py's Finding): opens an incident, escalates it, or only keeps it hot."""
        inc = state.get("incident")
        sev = SEVERITY_RANK[severity(f.score, f.counts.get("n", 0))]
        if inc is None:
            inc = state["incident"] = {"start": f.bucket, "hot": f.bucket, "baseline": max(0.0, float(f.baseline)),
                                       "sev": sev, "score": f.score, "members": {}}  # fmt: skip
        elif sev > inc["sev"] or f.score >= inc["score"] + SCORE_MARGIN:
            inc["sev"], inc["score"] = max(sev, inc["sev"]), max(f.score, inc["score"])
            inc["hot"] = max(inc["hot"], f.bucket)
        else:
            if f.bucket > inc["hot"]:
                inc["hot"] = f.bucket
                out.dirty = True
            return
        out.dirty = True
        starts = iso(inc["start"])
        for a in make_alerts(f):
            key = member_key(a)
            kind, subject, origin = key.split("|", 2)
            seq = inc["members"].get(key, [0, ""])[0] + 1
            fp = fingerprint(kind, subject, origin, inc["start"])
            rid = record_id(fp, seq)
            a.update(alert_id=rid, status="firing", sequence=seq, fingerprint=fp, starts_at=starts, ends_at=None)
            inc["members"][key] = [seq, rid]
            out.records.append(a)

    def on_closed(self, state: dict[str, Any], bucket: int, value: float, out: Changes) -> None:
        """A closed window of the subject, scored in order: keeps the incident hot or, quiet long enough,
        resolves it."""
        inc = state.get("incident")
        if inc is None:
            return
        if self.elevated(inc, value):
            if bucket > inc["hot"]:
                inc["hot"] = bucket
                out.dirty = True
            return
        if bucket < self.resolvable_at(inc):
            return
        ends = iso(inc["hot"] + self.window_s)
        for seq, last_id in inc["members"].values():
            fields = {"status": "resolved", "sequence": seq + 1, "ends_at": ends}
            out.records.append(Resolution(last_id, fields))
        state["incident"] = None
        out.dirty = True


def resolved_record(last: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """The resolved record of a member: its last record with the new status, sequence, end and id."""
    rec = {**last, **fields}
    rec["alert_id"] = record_id(rec["fingerprint"], rec["sequence"])
    return rec
