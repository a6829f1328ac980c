from __future__ import annotations

from lepton_stream.ops.health import Health, redis_pinger, stall_limit_s


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Redis:
    def __init__(self, up: bool = True) -> None:
        self.up = up
        self.pings = 0

    def __call__(self) -> bool:
        self.pings += 1
        if self.up is None:
            raise ConnectionError("boom")
        return self.up


def make(redis: Redis | None = None, **kw):
    clock = Clock()
    return Health(60, redis or Redis(), clock=clock, **kw), clock


def test_ready_only_with_assignment_model_and_redis():
    redis = Redis()
    h, clock = make(redis)
    ok, why = h.ready()
    assert not ok and not why["partitions"]["ok"] and not why["model"]["ok"] and why["redis"]["ok"]

    h.set_assigned(3)
    assert not h.ready()[0]
    h.set_model_loaded("news-sentiment@abc123")
    ok, why = h.ready()
    assert ok and why["partitions"]["assigned"] == 3 and why["model"]["version"] == "news-sentiment@abc123"

    h.set_assigned(0)  # revoked on rebalance
    assert not h.ready()[0]
    h.set_assigned(1)
    h.set_model_loaded(None)
    assert not h.ready()[0]


def test_redis_down_or_raising_means_not_ready_and_is_cached():
    redis = Redis(up=False)
    h, clock = make(redis, redis_cache_s=2.0)
    h.set_assigned(2)
    h.set_model_loaded("v1")
    assert not h.ready()[0]
    redis.up = True
    assert not h.ready()[0], "result cached within the cache period"
    assert redis.pings == 1
    clock.t += 2.5
    assert h.ready()[0]
    assert redis.pings == 2
    redis.up = None  # raises
    clock.t += 2.5
    ok, why = h.ready()
    assert not ok and why["redis"] == {"ok": False}


def test_stalled_loop_is_not_live_and_not_ready():
    h, clock = make()
    h.set_assigned(1)
    h.set_model_loaded("v1")
    assert h.live()
    clock.t += 59
    h.polled()
    clock.t += 59
    assert h.live() and h.ready()[0]
    clock.t += 2  # 61 s since the last poll
    assert not h.live()
    ok, why = h.ready()
    assert not ok and not why["loop"]["ok"] and why["loop"]["since_poll_s"] == 61
    h.polled()
    assert h.live()


def test_draining_is_not_ready_but_live():
    h, _ = make()
    h.set_assigned(1)
    h.set_model_loaded("v1")
    h.set_draining()
    assert h.live() and not h.ready()[0]


def test_stall_limit_follows_poll_interval():
    assert stall_limit_s(10_000) == 60.0
    assert stall_limit_s(300_000) == 600.0


def test_worker_gauges_are_updated():
    from lepton_stream import metrics

    h, _ = make(worker="ops-test")
    h.set_assigned(4)
    h.polled()
    assert metrics.ASSIGNED_PARTITIONS.labels("ops-test")._value.get() == 4
    assert metrics.LAST_POLL.labels("ops-test")._value.get() > 1e9


def test_redis_pinger_maps_errors_to_false():
    class Client:
        def __init__(self, exc: Exception | None) -> None:
            self.exc = exc

        def ping(self) -> bool:
            if self.exc:
                raise self.exc
            return True

    assert redis_pinger(Client(None))() is True
    assert redis_pinger(Client(TimeoutError()))() is False
