"""The alert outbox on a real Redis: a live pod's unconfirmed alerts are never taken over by another pod; a dead
pod's are, once its lease lapses; confirmed ones never come back. Time is the outbox's clock, advanced by hand."""

from __future__ import annotations

import redis

from lepton_stream.state import scripts
from lepton_stream.state.cluster import connect
from lepton_stream.state.outbox import Outbox


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def claim(client: redis.Redis, outbox: Outbox, prefix: str, name: str) -> str:
    """An alert claimed by `outbox`'s pod, as the monitor does it: alert key holds token + JSON, listed."""
    key, token = f"{prefix}{{news:TSM}}:alert:{name}", "tok-" + name
    client.set(key, f"{token}\n{{\"alert_id\": \"{name}\"}}")
    scripts.execute(client, [outbox.add([f"{key}|{token}"])])
    return f"{key}|{token}"


def test_a_live_but_slow_pod_keeps_its_alerts_a_dead_ones_are_taken_over(redis_url, key_prefix) -> None:
    client = connect(redis_url)
    clock = Clock()
    slow = Outbox(client, key_prefix, "news", grace_s=30, owner="pod-a", clock=clock)
    other = Outbox(client, key_prefix, "news", grace_s=30, owner="pod-b", clock=clock)
    slow.renew(force=True)
    entry = claim(client, slow, key_prefix, "a1")

    # pod-a is stalled far past the grace (a broker outage), but renews its lease from its retry loop.
    for _ in range(10):
        clock.now += 20
        slow.renew()
        assert other.overdue() == []
    # pod-a dies: its lease lapses one grace after the last renewal, then pod-b publishes the alert once.
    clock.now += 31
    taken = other.overdue()
    assert [(e, body) for e, body in taken] == [(entry, '{"alert_id": "a1"}')]
    assert other.overdue() == []  # listed as pod-b's now, and pod-b's lease is live
    other.confirm([e for e, _ in taken])
    clock.now += 100
    assert other.overdue() == [] and slow.overdue() == []
    client.close()


def test_a_pods_own_overdue_alerts_come_back_to_it(redis_url, key_prefix) -> None:
    """A batch that claimed alerts and then failed (its retry cannot claim them again) leaves them unpublished:
    the claiming pod itself publishes them once they are overdue."""
    client = connect(redis_url)
    clock = Clock()
    pod = Outbox(client, key_prefix, "news", grace_s=30, owner="pod-a", clock=clock)
    pod.renew(force=True)
    entry = claim(client, pod, key_prefix, "a2")
    assert pod.overdue() == []
    clock.now += 31
    assert [e for e, _ in pod.overdue()] == [entry]
    client.close()
