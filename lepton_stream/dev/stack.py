"""`dev up|down|status`: the local broker and Redis, with pids and logs under LEPTON_STATE_DIR."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from lepton_stream.config import Settings
from lepton_stream.dev import redis_server
from lepton_stream.dev.broker import Tansu, pid_alive, port_open, stop_pid


@dataclass
class StackState:
    broker_pid: int | None = None
    broker_bootstrap: str | None = None
    broker_start_s: float | None = None
    redis_pid: int | None = None  # set only when we started a private server
    redis_url: str | None = None


def _state_file(settings: Settings) -> Path:
    return settings.state_dir / "stack.json"


def read_state(settings: Settings) -> StackState:
    path = _state_file(settings)
    return StackState(**json.loads(path.read_text())) if path.is_file() else StackState()


def _write_state(settings: Settings, state: StackState) -> None:
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    _state_file(settings).write_text(json.dumps(asdict(state), indent=2))


def up(settings: Settings) -> StackState:
    """Start what is not already running. Idempotent."""
    state = read_state(settings)
    host, _, port = settings.bootstrap_servers[0].rpartition(":")
    if not (state.broker_pid and pid_alive(state.broker_pid)):
        if port_open(host, int(port)):
            # Something (a real Kafka, or a broker we did not start) already listens: use it.
            state.broker_pid, state.broker_start_s = None, None
        else:
            settings.state_dir.mkdir(parents=True, exist_ok=True)
            broker = Tansu(port=int(port), log_path=settings.state_dir / "tansu.log")
            state.broker_start_s = round(broker.start(), 3)
            state.broker_pid = broker.pid
    state.broker_bootstrap = settings.kafka_bootstrap
    if not redis_server.ping(settings.redis_url):
        if not redis_server.is_local(settings.redis_url):
            raise redis_server.RedisError(f"Redis at {settings.redis_url} does not answer")
        state.redis_pid = redis_server.start_private(
            redis_server.url_port(settings.redis_url), settings.state_dir / "redis"
        )
    state.redis_url = settings.redis_url
    _write_state(settings, state)
    return state


def down(settings: Settings) -> StackState:
    """Stop only what `up` started; a Redis or broker that was already running is left alone."""
    state = read_state(settings)
    for pid in (state.broker_pid, state.redis_pid):
        if pid and pid_alive(pid):
            stop_pid(pid)
    _write_state(settings, StackState())
    return state


def status(settings: Settings) -> dict[str, object]:
    state = read_state(settings)
    host, _, port = settings.bootstrap_servers[0].rpartition(":")
    started = time.monotonic()
    broker_up = port_open(host, int(port))
    return {
        "broker": {
            "bootstrap": settings.kafka_bootstrap,
            "reachable": broker_up,
            "managed_pid": state.broker_pid if state.broker_pid and pid_alive(state.broker_pid) else None,
        },
        "redis": {
            "url": settings.redis_url,
            "reachable": redis_server.ping(settings.redis_url),
            "managed_pid": state.redis_pid if state.redis_pid and pid_alive(state.redis_pid) else None,
        },
        "checked_in_s": round(time.monotonic() - started, 3),
    }
