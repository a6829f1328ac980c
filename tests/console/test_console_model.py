"""The console's in-memory view: incidents from alert records (with and without lifecycle fields), queue load."""

from __future__ import annotations

from datetime import timedelta

from lepton_stream.console.model import ConsoleState
from tests.console.factory import T0, alert, routed


def test_an_alert_without_lifecycle_fields_is_a_firing_incident_of_its_own():
    st = ConsoleState()
    a = alert()
    assert st.add_alert(a)
    assert not st.add_alert(dict(a)), "a redelivered record changes nothing"
    view = st.alerts()
    assert view["firing"] == 1 and view["resolved"] == 0
    inc = view["incidents"][0]
    assert inc["fingerprint"] == a["alert_id"] and inc["status"] == "firing"
    assert inc["starts_at"] == a["window"]["start"] and inc["ends_at"] is None
    assert st.incident(a["alert_id"])["subject"] == "TSM"


def test_lifecycle_records_group_by_fingerprint_and_the_latest_status_wins():
    st = ConsoleState()
    fp = "f" * 32
    first = alert(fingerprint=fp, sequence=1, status="firing", starts_at=T0.isoformat())
    grown = alert(start=T0 + timedelta(minutes=5), fingerprint=fp, sequence=2, status="firing",
                  starts_at=T0.isoformat())  # fmt: skip
    grown["score"], grown["severity"] = 1.0, "critical"
    ended = (T0 + timedelta(minutes=40)).isoformat()
    resolved = alert(start=T0 + timedelta(minutes=5), fingerprint=fp, sequence=3, status="resolved",
                     starts_at=T0.isoformat(), ends_at=ended, evidence=[])  # fmt: skip
    for rec in (first, resolved, grown):  # out of order: the sequence orders them
        st.add_alert(rec)
    view = st.alerts()
    assert len(view["incidents"]) == 1 and view["resolved"] == 1
    inc = view["incidents"][0]
    assert inc["status"] == "resolved" and inc["updates"] == 3 and inc["sequence"] == 3
    assert inc["ends_at"].startswith("2026-12-01T12:15")
    # What it says comes from its latest firing record: the resolution repeats no evidence.
    assert inc["severity"] == "critical" and inc["evidence"]
    assert st.incident(first["alert_id"])["fingerprint"] == fp


def test_a_spike_lists_the_graph_paths_of_the_alerts_it_propagated():
    st = ConsoleState()
    st.add_alert(alert())
    st.add_alert(alert("propagated_risk", "AAPL", origin="TSM"))
    incs = {i["subject"]: i for i in st.alerts()["incidents"]}
    assert [r["path"] for r in incs["TSM"]["related"]] == [["TSM", "supplier_of->", "AAPL"]]
    assert incs["AAPL"]["related"] == [] and incs["AAPL"]["propagated_from"]["entity"] == "TSM"


def test_records_that_are_not_alerts_are_counted_not_fatal():
    st = ConsoleState()
    for bad in (None, [], {"alert_id": 1}, {**alert(), "window": {"start": "yesterday", "end": "x"}}):
        assert not st.add_alert(bad)
    assert st.alerts()["skipped"] == 4


def test_incidents_are_bounded_resolved_ones_go_first():
    st = ConsoleState(max_incidents=3)
    st.add_alert(alert(subject="OLD", status="resolved", fingerprint="a" * 32))
    for i in range(3):
        st.add_alert(alert(subject=f"S{i}", start=T0 + timedelta(hours=i)))
    subjects = {i["subject"] for i in st.alerts()["incidents"]}
    assert subjects == {"S0", "S1", "S2"}


def test_queue_load_counts_the_recent_event_time_window_and_lists_escalations():
    st = ConsoleState(window_s=300)
    for i in range(30):
        st.add_routed(routed(i, "cards", "card_not_working", T0 + timedelta(seconds=20 * i), escalate=i % 10 == 0))
    st.add_routed(routed(99, "transfers", "transfer_failed", T0 - timedelta(hours=1)))  # long before "now"
    st.add_routed(routed(0, "cards", "card_not_working", T0))  # redelivered
    st.add_alert(alert("intent_surge", "card_not_working"))
    sup = st.support()
    rows = {r["queue"]: r for r in sup["queues"]}
    assert rows["cards"]["recent"] == 30 and rows["cards"]["recent_escalated"] == 3 and rows["cards"]["total"] == 30
    assert rows["transfers"]["recent"] == 0 and rows["transfers"]["total"] == 1
    assert len(rows["cards"]["series"]) == 24 and sum(rows["cards"]["series"]) == 30
    assert [e["id"] for e in sup["escalations"]] == ["msg-20", "msg-10", "msg-0"]  # newest first
    assert [(s["subject"], s["queue"], s["status"]) for s in sup["surges"]] == [("card_not_working", "cards", "firing")]
