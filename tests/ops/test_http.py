from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from prometheus_client import CollectorRegistry, Counter

from lepton_stream import metrics
from lepton_stream.ops import probe
from lepton_stream.ops.health import Health
from lepton_stream.ops.http import serve


class Clock:
    t = 0.0

    def __call__(self) -> float:
        return self.t


def get(port: int, path: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.headers["Content-Type"], r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers["Content-Type"], e.read().decode()


@pytest.fixture
def running():
    clock = Clock()
    redis = {"up": True}
    health = Health(60, lambda: redis["up"], redis_cache_s=0, clock=clock)
    server = serve(0, health, host="127.0.0.1")
    yield server, health, clock, redis
    server.close()


def test_endpoints_follow_health_over_a_real_socket(running):
    server, health, clock, redis = running
    assert server.port > 0

    status, ctype, body = get(server.port, "/readyz")
    assert status == 503 and ctype == "application/json"
    assert json.loads(body)["checks"]["partitions"]["ok"] is False

    health.set_assigned(2)
    health.set_model_loaded("v7")
    status, _, body = get(server.port, "/readyz")
    assert status == 200 and json.loads(body)["ready"] is True

    redis["up"] = False
    assert get(server.port, "/readyz")[0] == 503
    redis["up"] = True

    assert get(server.port, "/healthz")[0] == 200
    clock.t += 120
    status, _, body = get(server.port, "/healthz")
    assert status == 503 and json.loads(body)["live"] is False
    assert get(server.port, "/readyz")[0] == 503
    health.polled()
    assert get(server.port, "/healthz")[0] == 200

    assert get(server.port, "/nope")[0] == 404


def test_metrics_endpoint_exposes_the_service_metrics_and_they_move(running):
    server, *_ = running
    metrics.CONSUMED.labels("ops.test").inc(5)
    status, ctype, body = get(server.port, "/metrics")
    assert status == 200 and ctype.startswith("text/plain")
    assert 'lepton_messages_consumed_total{topic="ops.test"} 5.0' in body
    metrics.CONSUMED.labels("ops.test").inc(2)
    assert 'lepton_messages_consumed_total{topic="ops.test"} 7.0' in get(server.port, "/metrics")[2]


def test_custom_registry_and_close_frees_the_port():
    reg = CollectorRegistry()
    Counter("only_here_total", "x", registry=reg).inc()
    server = serve(0, Health(60, lambda: True), host="127.0.0.1", registry=reg)
    port = server.port
    body = get(port, "/metrics")[2]
    assert "only_here_total 1.0" in body and "lepton_messages_consumed_total" not in body
    server.close()
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)


def test_probe_command_reports_the_endpoint(running):
    server, health, clock, _ = running
    assert probe.check("healthz", port=server.port)
    assert not probe.check("readyz", port=server.port)
    clock.t += 120
    assert not probe.check("healthz", port=server.port)
    assert probe.main(["bogus"]) == 2


def test_readiness_with_real_redis_clients():
    from lepton_stream.config import load_settings
    from lepton_stream.ops.health import redis_pinger
    from lepton_stream.ops.kafka_security import redis_client

    dead = Health(60, redis_pinger(redis_client(load_settings(redis_url="redis://127.0.0.1:1/0"))))
    dead.set_assigned(1)
    dead.set_model_loaded("v1")
    with serve(0, dead, host="127.0.0.1") as server:
        status, _, body = get(server.port, "/readyz")
        assert status == 503 and json.loads(body)["checks"]["redis"]["ok"] is False

    live_client = redis_client(load_settings())  # LEPTON_REDIS_URL or the local default
    if not redis_pinger(live_client)():
        pytest.skip("no Redis reachable at LEPTON_REDIS_URL")
    up = Health(60, redis_pinger(live_client))
    up.set_assigned(1)
    up.set_model_loaded("v1")
    with serve(0, up, host="127.0.0.1") as server:
        assert get(server.port, "/readyz")[0] == 200
