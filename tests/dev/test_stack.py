"""`dev up/down/status` start and stop a real broker, and a private Redis where none answers."""

from __future__ import annotations

from lepton_stream.config import load_settings
from lepton_stream.dev import redis_server, stack
from lepton_stream.dev.broker import free_port, pid_alive, port_open


def test_up_status_down_with_private_redis(tmp_path):
    port, rport = free_port(), free_port()
    s = load_settings(kafka_bootstrap=f"127.0.0.1:{port}", redis_url=f"redis://127.0.0.1:{rport}/0",
                      state_dir=tmp_path)  # fmt: skip
    assert not redis_server.ping(s.redis_url)
    state = stack.up(s)
    try:
        assert state.broker_pid and pid_alive(state.broker_pid) and port_open("127.0.0.1", port)
        assert state.redis_pid and redis_server.ping(s.redis_url)
        st = stack.status(s)
        assert st["broker"]["reachable"] and st["redis"]["reachable"]
        assert stack.up(s).broker_pid == state.broker_pid  # idempotent
    finally:
        stack.down(s)
    assert not port_open("127.0.0.1", port) and not redis_server.ping(s.redis_url)
    assert not pid_alive(state.broker_pid) and not pid_alive(state.redis_pid)


def test_down_leaves_services_it_did_not_start(tmp_path, redis_url):
    s = load_settings(kafka_bootstrap=f"127.0.0.1:{free_port()}", redis_url=redis_url, state_dir=tmp_path)
    state = stack.up(s)
    assert state.redis_pid is None  # an answering Redis is used, not replaced
    stack.down(s)
    assert redis_server.ping(redis_url)
