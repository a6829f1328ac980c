"""The worker loop's idle exit (demo, tests, bench, `run --idle-exit`): joining the group is not idleness, and a
loop never given a partition still ends."""

from __future__ import annotations

import time
from types import SimpleNamespace

from lepton_stream.pipeline.loop import JOIN_GRACE_S, WorkerLoop


def test_the_idle_clock_starts_at_the_latest_assignment() -> None:
    now = time.monotonic()
    joined_late = SimpleNamespace(assigned_at=now - 2.0)
    assert 1.9 < WorkerLoop.idle_for(joined_late, last_records=now - 30.0) < 2.5
    joined_early = SimpleNamespace(assigned_at=now - 40.0)
    assert 29.9 < WorkerLoop.idle_for(joined_early, last_records=now - 30.0) < 30.5


def test_before_any_assignment_an_idle_exit_waits_a_join_grace() -> None:
    now = time.monotonic()
    joining = SimpleNamespace(assigned_at=None)
    assert WorkerLoop.idle_for(joining, last_records=now - 10.0) < 0  # a 6 s idle exit does not fire yet
    assert WorkerLoop.idle_for(joining, last_records=now - JOIN_GRACE_S - 10.0) > 6.0  # never assigned: it ends
