"""Detectors over the windowed state: per subject, score each closed bucket once, peek at the open one.

A subject's detector state lives in Redis beside its buckets (same hash tag), its open incident inside it
(state/lifecycle.py). It is advanced with a compare-and-set script that, in the same atomic step, claims the
alert records it produced (SET NX on the id of each lifecycle state change: fingerprint + sequence). So a
redelivered batch, or two pods closing the same bucket, score it once and can never claim a state change twice.

Resolution needs a trigger when the subject goes quiet: subjects with an open incident are kept in a sorted
set per kind, scored by the window whose close makes the incident resolvable; each run takes up to 500 of
those the watermark has reached and scores them like any subject (their empty windows close quietly).

    <prefix>incidents:<kind>   sorted set: subjects with an open incident (score: window that resolves it)
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from lepton_stream import logs, metrics
from lepton_stream.alerts.build import Finding
from lepton_stream.detect import ShareDetector
from lepton_stream.detect import base as detectors
from lepton_stream.state import cluster, scripts
from lepton_stream.state.lifecycle import Changes, Lifecycle, resolved_record
from lepton_stream.state.outbox import Outbox
from lepton_stream.state.windows import WindowStore

# KEYS: the subject's detector state, then one claim key per alert record. ARGV: the revision read, the new
# state, its TTL, the claims' TTL, then per claim key (KEYS[i], i >= 2) its value "<token>\n<JSON>" at ARGV[3 + i].
COMMIT = """
local rev = redis.call('HGET', KEYS[1], 'rev') or '0'
if rev ~= ARGV[1] then return {-1} end
redis.call('HSET', KEYS[1], 'rev', tostring(tonumber(rev) + 1), 'state', ARGV[2])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
local claimed = {}
for i = 2, #KEYS do
  if redis.call('SET', KEYS[i], ARGV[3 + i], 'NX', 'EX', tonumber(ARGV[4])) then
    table.insert(claimed, i - 1)
  end
end
return claimed
"""

# Drop subjects from the pending set once scored, unless a newer open bucket was recorded meanwhile; the same
# for the incidents set, unless an incident was (re)opened with a later resolution window meanwhile.
SETTLE = """
for i = 2, #ARGV do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) <= tonumber(ARGV[1]) then redis.call('ZREM', KEYS[1], ARGV[i]) end
end
return 0
"""
_COMMIT, _SETTLE = scripts.Lua(COMMIT), scripts.Lua(SETTLE)
log = logs.get(__name__)


def load_state(blob: bytes) -> dict:
    """A stored detector state. orjson: a tenth of the stdlib's time, on every subject of every batch; the
    stdlib reads what it wrote before (its NaN tokens, which orjson refuses)."""
    try:
        return orjson.loads(blob)
    except orjson.JSONDecodeError:
        return json.loads(blob)


@dataclass
class MonitorConfig:
    label: str | None  # count this label ("negative"); None = all messages ("n")
    share: bool = False  # also watch label / n
    min_volume: float = 20.0
    min_count: int = 5  # a bucket with fewer counted events never alerts, however quiet the baseline
    close_after_s: int = 60  # a bucket is scored once the watermark is this far past its end
    cooldown_buckets: int = 12
    max_fill: int = 288  # at most this many quiet buckets are replayed into a detector after a gap
    detector: dict = field(default_factory=dict)  # count-detector overrides (e.g. warm-up)
    detector_kind: str = detectors.DEFAULT  # LEPTON_DETECTOR: which count detector (detect/base.py)
    resolve_after_s: int = 900  # LEPTON_RESOLVE_AFTER_S: quiet event time before an incident resolves


_NOT_STORED = object()  # a subject without stored detector state yet (its first write is never skipped)


@dataclass(slots=True)
class _Plan:
    """One subject's part of a monitor run: its stored revision and state, the buckets to score."""

    rev: str
    state: dict
    closed: list[int]
    open_b: int | None  # the open bucket to peek at, if any
    stored_first: object  # state["first"] as stored, or _NOT_STORED
    late: list[int] = field(default_factory=list)  # scored buckets this batch added late events to
    changes: Changes = field(default_factory=Changes)  # lifecycle records this run produced

    def to_read(self) -> list[int]:
        return self.late + self.closed + ([self.open_b] if self.open_b is not None else [])


class SubjectMonitor:
    def __init__(self, store: WindowStore, config: MonitorConfig, alert_ttl_s: int = 14 * 86400):
        self.store, self.cfg, self.alert_ttl_s = store, config, alert_ttl_s
        self.pending_key = f"{store.prefix}pending:{store.kind}"
        self.incidents_key = f"{store.prefix}incidents:{store.kind}"
        self.lifecycle = Lifecycle(store.window_s, config.resolve_after_s, config.min_count)

    def _fresh(self) -> dict:
        d = detectors.make(self.cfg.detector_kind, **self.cfg.detector)
        state = {"last": None, "last_alert": None, "count": d.to_dict(), "ewma": None}
        if self.cfg.share:
            state["share"] = ShareDetector(min_volume=self.cfg.min_volume).to_dict()
        return state

    def _count_detector(self, state: dict) -> detectors.CountDetector:
        """The subject's count detector. A state stored under the older "spike" field, or by another kind than
        the configured one (LEPTON_DETECTOR changed), restarts the subject's learning with the configured kind."""
        stored = state.pop("spike", None) if "count" not in state else state["count"]
        if stored is None or stored.get("kind") != self.cfg.detector_kind:
            stored = detectors.make(self.cfg.detector_kind, **self.cfg.detector).to_dict()
        state["count"] = stored
        try:
            return detectors.from_dict(stored)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # a state that does not restore would fail every batch touching the subject: the subject starts
            # afresh, visibly, as a non-finite one does
            log.error("detector_state_reset", kind=self.store.kind, reason="unreadable", error=repr(exc)[:200])
            metrics.DETECTOR_RESETS.labels(self.store.kind).inc()
            det = detectors.make(self.cfg.detector_kind, **self.cfg.detector)
            state["count"] = det.to_dict()
            return det

    def value(self, bucket: dict[str, float]) -> float:
        return bucket.get(self.cfg.label, 0.0) if self.cfg.label else bucket.get("n", 0.0)

    def run(
        self,
        touched: dict[str, int],
        watermark: float,
        make_alerts: Callable[[Finding], list[dict]],
        outbox: Outbox,
        oldest: dict[str, int] | None = None,
        buckets_touched: dict[str, set[int]] | None = None,
    ) -> list[tuple[str, str]]:
        """Score the subjects touched by a batch (subject -> newest bucket it touched; oldest: the oldest).

        make_alerts turns a finding into alert dicts (the alert and any propagated ones); the lifecycle sets
        their id, status, sequence, fingerprint and times. Returns (outbox entry, alert JSON) of every record
        this call claimed, for the caller to publish.
        """
        w = self.store.window_s
        client = self.store.client
        last_closed = self.store.bucket(watermark - self.cfg.close_after_s) - w
        current = self.store.bucket(watermark)  # the newest bucket an open-bucket peek may look at
        # Subjects whose buckets closed since they were last touched: the watermark moved on without them
        # (their news came on a partition that ran ahead), so they are scored now rather than never.
        pipe = client.pipeline(transaction=False)
        pipe.zrangebyscore(self.pending_key, "-inf", last_closed, start=0, num=500)
        # Open incidents the watermark made resolvable: scored now even if their subject went quiet.
        pipe.zrangebyscore(self.incidents_key, "-inf", last_closed, start=0, num=500)
        due, resolvable = ([m.decode() for m in found] for found in pipe.execute())
        subjects = {**dict.fromkeys(due + resolvable, last_closed), **touched}
        if not subjects:
            return []
        det_keys = {s: self.store.key(s, "det") for s in subjects}
        pipe = client.pipeline(transaction=False)
        for k in det_keys.values():
            pipe.hmget(k, "rev", "state")
        raw = dict(zip(subjects, pipe.execute(), strict=True))
        plans: dict[str, _Plan] = {}
        for s, newest in subjects.items():
            rev, blob = raw[s]
            state = load_state(blob) if blob else self._fresh()
            stored_first = state.get("first") if blob else _NOT_STORED
            if state["last"] is None:
                # Nothing scored yet: remember where the series starts, so that when its buckets close
                # (maybe in a batch that does not touch it) they are all scored, not only the newest.
                seen = oldest.get(s, newest) if oldest else newest
                state["first"] = min(state.get("first") or seen, seen)
                first = state["first"]
            else:
                first = state["last"] + w
            first = max(first, last_closed - self.cfg.max_fill * w)
            closed = list(range(first, last_closed + 1, w))
            # Peek only at open buckets the watermark has reached. A bucket ahead of it belongs to a partition
            # running ahead of the others: peeked at against a detector hours behind, its partial count
            # alerted, and that alert's cooldown then silenced the incident's own bucket when it closed (seen
            # in a chaos run). It is scored when it closes.
            open_b = newest if last_closed < newest <= current else None
            # Buckets scored already that this batch's late events changed (a source running minutes behind):
            # checked again, or its events would never alert.
            scored = state["last"]
            late = sorted(b for b in (buckets_touched or {}).get(s, ()) if scored is not None and b <= scored)
            plans[s] = _Plan((rev or b"0").decode(), state, closed, open_b, stored_first, late)
        buckets = self.store.read({s: p.to_read() for s, p in plans.items()})

        token = uuid.uuid4().hex[:16]
        steps: list[scripts.Step] = []
        calls: list[tuple[int, list[tuple[str, str]]]] = []  # (position of the commit in steps, its alerts)
        for s, p in plans.items():
            self._score(s, p.state, p.closed, p.open_b, buckets.get(s, {}), p.late, make_alerts, p.changes)
        records = self._records(plans)
        settle: list[str] = []  # subjects to drop from the incidents set once this run's commits are known
        committed_at: dict[str, int] = {}
        # Re-listed on every run that sees them open, in the commit's round trip: a pod that dies before it
        # leaves its batch to be redelivered, and the redelivery lists them again.
        open_incidents: dict[str, int] = {}
        for s, p in plans.items():
            incident = p.state.get("incident")
            if incident is not None:
                open_incidents[s] = self.lifecycle.resolvable_at(incident)
            elif s in resolvable or p.changes.resolutions:
                settle.append(s)
            if not p.closed and not p.changes.dirty and p.state.get("first") == p.stored_first:
                continue  # only the open bucket peeked at, quietly: the stored state is unchanged, no write
            alerts = [(self.store.key(s, f"alert:{r['alert_id']}"), orjson.dumps(r).decode()) for r in records[s]]
            args = [p.rev, orjson.dumps(p.state), self.store.retention_s, self.alert_ttl_s]
            committed_at[s] = len(steps)
            calls.append((len(steps), alerts))
            steps.append(_COMMIT([det_keys[s]] + [k for k, _ in alerts], args + [f"{token}\n{j}" for _, j in alerts]))
            if alerts:
                # Listed in the same round trip as the claim: a pod dying now cannot lose a claimed alert.
                steps.append(outbox.add([f"{k}|{token}" for k, _ in alerts]))
        if open_incidents:
            steps.append(lambda pipe: pipe.zadd(self.incidents_key, open_incidents))
        if due:
            steps.append(_SETTLE([self.pending_key], [last_closed, *due]))
        still_open = {s: b for s, b in touched.items() if b > last_closed}
        if still_open:
            steps.append(lambda pipe: pipe.zadd(self.pending_key, still_open, gt=True))
        results = scripts.execute(client, steps)
        claimed: list[tuple[str, str]] = []
        for at, alerts in calls:
            result = results[at]
            if result and result[0] == -1:
                continue  # another pod advanced this subject first; it scores and alerts
            claimed += [(f"{alerts[i - 1][0]}|{token}", alerts[i - 1][1]) for i in result]
        # Dropped only where this run's view held: its commit won, or it had nothing to write. A subject
        # whose commit lost keeps its entry (the winner's state decides on the next run).
        lost = {s for s, at in committed_at.items() if results[at] and results[at][0] == -1}
        settle = [s for s in settle if s not in lost]
        if settle:
            scripts.run(client, _SETTLE([self.incidents_key], [last_closed, *settle]))
        return claimed

    def _records(self, plans: dict[str, _Plan]) -> dict[str, list[dict]]:
        """Each subject's records in the order its lifecycle produced them; a resolved one is completed from
        its member's last record (read from that record's claim, one round trip for the whole run)."""
        made = {r["alert_id"]: r for p in plans.values() for r in p.changes.records if isinstance(r, dict)}
        # A member that fired in this same run (a gap scored at once) is repeated from this run's record.
        wanted = [(s, r) for s, p in plans.items() for r in p.changes.resolutions if r.last_id not in made]
        keys = [self.store.key(s, f"alert:{r.last_id}") for s, r in wanted]
        stored = cluster.mget(self.store.client, keys) if keys else []
        bodies = {k: orjson.loads(v.split(b"\n", 1)[1]) for k, v in zip(keys, stored, strict=True) if v is not None}
        out: dict[str, list[dict]] = {}
        for s, p in plans.items():
            out[s] = []
            for r in p.changes.records:
                if isinstance(r, dict):
                    out[s].append(r)
                    continue
                last = made.get(r.last_id) or bodies.get(self.store.key(s, f"alert:{r.last_id}"))
                if last is None:
                    # Its claim expired (an incident open longer than claims are kept): nothing to repeat.
                    log.warning("incident_resolved_without_record", subject=s, kind=self.store.kind, last=r.last_id)
                    continue
                out[s].append(resolved_record(last, r.fields))
        return out

    def _score(self, subject: str, state: dict, closed: list[int], open_b: int | None,
               buckets: dict[int, dict[str, float]], late: list[int] = (),
               make_alerts: Callable[[Finding], list[dict]] = lambda f: [],
               changes: Changes | None = None) -> list[Finding]:  # fmt: skip
        """Score the buckets in order; each finding and each closed bucket goes through the subject's incident
        lifecycle in that order, so a long gap scored at once can fire, resolve and fire again correctly."""
        count = self._count_detector(state)
        share = ShareDetector.from_dict(state["share"]) if self.cfg.share else None
        findings: list[Finding] = []
        changes = changes if changes is not None else Changes()
        state.setdefault("incident", None)

        def found(new: list[Finding]) -> None:
            for f in new:
                self.lifecycle.on_finding(state, f, make_alerts, changes)
            findings.extend(new)

        for b in closed:
            h = buckets.get(b, {})
            v = self.value(h)
            baseline = state["ewma"] if state["ewma"] is not None else v
            found(self._check(subject, state, b, h, "count", count.update(float(b), v), baseline, True))
            if share is not None:
                sc = share.update(float(b), v, h.get("n", 0.0))
                found(self._check(subject, state, b, h, "share", sc, baseline, True))
            self.lifecycle.on_closed(state, b, v, changes)
            state["ewma"] = v if state["ewma"] is None else 0.9 * state["ewma"] + 0.1 * v
            state["last"] = b
        if not count.finite() or (share is not None and not share.finite()):
            # orjson would store a NaN as null, which no detector reads back; before, the stdlib stored it and
            # the subject never alerted again. Either way the series is lost: start it afresh, visibly.
            log.error("detector_state_reset", subject=subject, kind=self.store.kind)
            metrics.DETECTOR_RESETS.labels(self.store.kind).inc()
            fresh = self._fresh()
            count = detectors.from_dict(fresh["count"])
            share = ShareDetector.from_dict(fresh["share"]) if share is not None else None
        state["count"] = count.to_dict()
        if share is not None:
            state["share"] = share.to_dict()
        for b in late:
            # Judged as if it were the next bucket, against the detector as it is now (its own slot has passed):
            # the state does not change, and its deterministic alert id keeps a second look from alerting twice.
            if b in buckets:
                h = buckets[b]
                peek = detectors.from_dict(state["count"]).update(float(state["last"] + self.store.window_s),
                                                                  self.value(h))  # fmt: skip
                found(self._check(subject, state, b, h, "count", peek, state["ewma"] or 0.0, True))
        if open_b is not None and open_b in buckets:
            # Counts only grow while a bucket is open, so a partial count that already alerts is a real
            # spike: say so now rather than at close. The peek does not change the detector's state.
            h = buckets[open_b]
            peek = detectors.from_dict(state["count"]).update(float(open_b), self.value(h))
            found(self._check(subject, state, open_b, h, "count", peek, state["ewma"] or 0.0, False))
        return findings

    def _check(self, subject, state, b, h, signal, score, baseline, closed) -> list[Finding]:
        if score < 0.5 or self.value(h) < self.cfg.min_count:
            return []
        if signal == "count" and self.value(h) <= baseline:
            return []  # detectors score dips too; the product alerts on rises in mentions only
        last = state["last_alert"]
        # The cooldown holds back a new incident only: while one is open, its findings go to the lifecycle,
        # which emits an update for one that escalates and nothing for the rest.
        if (state.get("incident") is None and last is not None and b != last
                and b - last < self.cfg.cooldown_buckets * self.store.window_s):
            return []
        state["last_alert"] = b
        counts = {k: int(v) for k, v in h.items() if not k.startswith("sum:")}
        return [Finding(subject, signal, b, round(score, 4), counts, round(float(baseline), 3), closed)]
