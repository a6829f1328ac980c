"""What a chaos run is judged on, as pure functions over what two runs left behind (tested on their own).

A run's outputs: the enriched records, the alerts topic, the DLQ topic and the window buckets in Redis.
The chaos run is compared with a clean run of the same input: nothing lost, no alert published twice (each
incident state change once, none missing from an incident's sequence), the same aggregates, the same dead
letters. Redeliveries (the same id enriched twice) are legitimate under at-least-once and are reported, not
failed.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass, field


@dataclass
class RunOutput:
    enriched: list[dict] = field(default_factory=list)
    alerts: list[dict] = field(default_factory=list)
    dlq: list[dict] = field(default_factory=list)
    buckets: dict[str, dict[str, str]] = field(default_factory=dict)  # "{news:TSM}:b:<start>" -> hash


def lost(valid_ids: set[str], enriched: list[dict]) -> list[str]:
    return sorted(valid_ids - {e["id"] for e in enriched})


def redeliveries(enriched: list[dict]) -> int:
    """Outputs beyond the first for an id: a batch processed again after a crash or a rebalance."""
    return len(enriched) - len({e["id"] for e in enriched})


def redeliveries_differing(enriched: list[dict]) -> list[str]:
    """Ids output more than once with different content: a consumer would see two decisions for one message.
    (Enriched records carry no processing time or worker id, so a redelivery must repeat the first exactly.)"""
    first: dict[str, dict] = {}
    differing: set[str] = set()
    for e in enriched:
        if first.setdefault(e["id"], e) != e:
            differing.add(e["id"])
    return sorted(differing)


def duplicate_alerts(alerts: list[dict]) -> dict[str, int]:
    counts = collections.Counter(a["alert_id"] for a in alerts)
    return {k: n for k, n in counts.items() if n > 1}


def lifecycle_gaps(alerts: list[dict]) -> list[str]:
    """Incidents (fingerprints) whose state changes are not exactly 1..n: a sequence number missing is a state
    change lost (a firing, an update or a resolution claimed and never published). Each state change has its own
    alert_id, so a resolution published twice counts in duplicate_alerts, never here."""
    seqs: dict[str, set[int]] = collections.defaultdict(set)
    for a in alerts:
        if a.get("fingerprint"):
            seqs[a["fingerprint"]].add(int(a.get("sequence") or 1))
    return sorted(fp for fp, s in seqs.items() if s != set(range(1, max(s) + 1)))


def dlq_entries(dlq: list[dict]) -> set[tuple[str, str]]:
    """(reason, sha256 of the original) per dead letter: the original itself may be cut to a bound."""
    return {(d["reason"], d["original_sha256"]) for d in dlq}


def label_flips(a: list[dict], b: list[dict], task: str = "sentiment") -> list[str]:
    """Ids whose label differs between two runs (the model, not the state, would explain drift then)."""
    la = {e["id"]: e[task]["label"] for e in a if task in e}
    lb = {e["id"]: e[task]["label"] for e in b if task in e}
    return sorted(i for i in la.keys() & lb.keys() if la[i] != lb[i])


def _close(x: str, y: str, rel_tol: float) -> bool:
    try:
        return math.isclose(float(x), float(y), rel_tol=rel_tol, abs_tol=1e-6)
    except ValueError:
        return x == y


def bucket_drift(a: dict[str, dict[str, str]], b: dict[str, dict[str, str]], rel_tol: float = 1e-4) -> dict:
    """Buckets that differ between two runs. Counts must match exactly; score sums (floats added in
    arrival order, from int8 scores that vary slightly with batch composition) within rel_tol."""
    differ = []
    count_differ = []
    for key in sorted(a.keys() | b.keys()):
        ha, hb = a.get(key, {}), b.get(key, {})
        counts_a = {f: v for f, v in ha.items() if not f.startswith("sum:")}
        counts_b = {f: v for f, v in hb.items() if not f.startswith("sum:")}
        if counts_a != counts_b:
            count_differ.append(key)
            differ.append(key)
        elif any(not _close(ha.get(f, "0"), hb.get(f, "0"), rel_tol) for f in ha.keys() | hb.keys()):
            differ.append(key)
    return {"buckets_compared": len(a.keys() | b.keys()), "buckets_differing": len(differ),
            "buckets_count_differing": len(count_differ), "examples": differ[:5]}  # fmt: skip


def compare(valid_ids: set[str], clean: RunOutput, chaos: RunOutput) -> dict:
    dup = duplicate_alerts(chaos.alerts)
    # Which window of an incident alerts first depends on the order buckets are closed in (the watermark's
    # progress, i.e. consumption order), so alerts are matched on (kind, subject); ids are reported too.
    clean_alerts = {(a["kind"], a["subject"]) for a in clean.alerts}
    chaos_alerts = {(a["kind"], a["subject"]) for a in chaos.alerts}
    clean_ids, chaos_ids = {a["alert_id"] for a in clean.alerts}, {a["alert_id"] for a in chaos.alerts}
    dlq_clean, dlq_chaos = dlq_entries(clean.dlq), dlq_entries(chaos.dlq)
    drift = bucket_drift(clean.buckets, chaos.buckets)
    flips = label_flips(clean.enriched, chaos.enriched)
    return {
        "lost_messages": len(lost(valid_ids, chaos.enriched)),
        "lost_messages_clean_run": len(lost(valid_ids, clean.enriched)),
        "duplicate_alerts": sum(n - 1 for n in dup.values()),
        "duplicate_alert_ids": sorted(dup)[:10],
        "alerts_clean": len(clean_alerts),
        "alerts_chaos_distinct": len(chaos_alerts),
        "alerts_missing_vs_clean": len(clean_alerts - chaos_alerts),
        "alerts_extra_vs_clean": len(chaos_alerts - clean_alerts),
        "alert_ids_differing_vs_clean": len(clean_ids ^ chaos_ids),
        # Incidents whose state changes are not all there, and how many incidents resolved in each run (the
        # resolution depends only on event time, so a run that consumed everything resolves the same ones).
        "lifecycle_gaps": len(lifecycle_gaps(chaos.alerts)),
        "incidents_resolved_clean": len({a["fingerprint"] for a in clean.alerts if a.get("status") == "resolved"}),
        "incidents_resolved_chaos": len({a["fingerprint"] for a in chaos.alerts if a.get("status") == "resolved"}),
        "aggregate_drift": drift["buckets_differing"],
        "aggregate_drift_detail": drift,
        "label_flips_vs_clean": len(flips),
        "dlq_missing_vs_clean": len(dlq_clean - dlq_chaos),
        "dlq_extra_vs_clean": len(dlq_chaos - dlq_clean),
        "dlq_entries": len(dlq_chaos),
        "dlq_redeliveries": len(chaos.dlq) - len(dlq_chaos),
        "redeliveries": redeliveries(chaos.enriched),
        "redeliveries_differing": len(redeliveries_differing(chaos.enriched)),
        "redeliveries_clean_run": redeliveries(clean.enriched),
    }


def failures(report: dict) -> list[str]:
    """The figures that must be zero and are not."""
    must_be_zero = (
        "lost_messages", "lost_messages_clean_run", "duplicate_alerts", "lifecycle_gaps", "alerts_missing_vs_clean",
        "alerts_extra_vs_clean", "aggregate_drift", "dlq_missing_vs_clean", "dlq_extra_vs_clean",
        "redeliveries_differing",
    )  # fmt: skip
    return [k for k in must_be_zero if report.get(k)]
