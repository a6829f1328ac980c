"""`dev up|down|status`: the local broker (tansu, or Apache Kafka) and Redis, with pids and logs under
LEPTON_STATE_DIR."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from lepton_stream.config import Settings
from lepton_stream.tooling.dev import redis_server
from lepton_stream.tooling.dev.broker import Tansu, pid_alive, port_open, stop_pid
from lepton_stream.tooling.dev.kafka import ApacheKafka, stop_nodes


@dataclass
class StackState:
    broker_pid: int | None = None
    broker_bootstrap: str | None = None
    broker_start_s: float | None = None
    redis_pid: int | None = None  # set only when we started a private server
    redis_url: str | None = None
    broker_kind: str | None = None  # "tansu" or "kafka" (the one we started)
    broker_pids: list[int] | None = None  # every Kafka node, the first being broker_pid


def _state_file(settings: Settings) -> Path:
    return settings.state_dir / "stack.json"


def read_state(settings: Settings) -> StackState:
    path = _state_file(settings)
    return StackState(**json.loads(path.read_text())) if path.is_file() else StackState()


def _write_state(settings: Settings, state: StackState) -> None:
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    _state_file(settings).write_text(json.dumps(asdict(state), indent=2))


def up(settings: Settings, broker: str = "tansu", brokers: int = 1) -> StackState:
    """Start what is not already running. Idempotent.

    broker="kafka" starts Apache Kafka (KRaft, `brokers` nodes on the bootstrap port and the ones after it,
    storage under LEPTON_STATE_DIR/kafka) instead of tansu."""
    if broker not in ("tansu", "kafka"):
        raise ValueError(f"unknown broker {broker!r}: tansu or kafka")
    if broker == "tansu" and brokers != 1:
        raise ValueError("tansu runs as one broker here; --brokers N needs --broker kafka")
    state = read_state(settings)
    host, _, port = settings.bootstrap_servers[0].rpartition(":")
    running = state.broker_kind or "tansu"
    if state.broker_pid and pid_alive(state.broker_pid) and running != broker:
        raise ValueError(f"dev up already started {running} here; `dev down` first to switch to {broker}")
    if not (state.broker_pid and pid_alive(state.broker_pid)):
        if port_open(host, int(port)):
            # Something (a real Kafka, or a broker we did not start) already listens: use it.
            state.broker_pid, state.broker_start_s, state.broker_kind, state.broker_pids = None, None, None, None
            state.broker_bootstrap = settings.kafka_bootstrap
        elif broker == "kafka":
            kafka = ApacheKafka.on_fixed_ports(int(port), settings.state_dir / "kafka", brokers=brokers)
            state.broker_start_s = round(kafka.start(), 3)
            state.broker_pid, state.broker_pids = kafka.pid, [p for p in kafka.pids if p is not None]
            state.broker_kind, state.broker_bootstrap = "kafka", kafka.bootstrap
        else:
            settings.state_dir.mkdir(parents=True, exist_ok=True)
            tansu = Tansu(port=int(port), log_path=settings.state_dir / "tansu.log")
            state.broker_start_s = round(tansu.start(), 3)
            state.broker_pid, state.broker_pids, state.broker_kind = tansu.pid, None, "tansu"
            state.broker_bootstrap = settings.kafka_bootstrap
        _write_state(settings, state)  # before Redis: if that fails, `dev down` still finds the broker
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
    stop_nodes([p for p in state.broker_pids or [] if pid_alive(p)])
    for pid in (state.broker_pid, state.redis_pid):
        if pid and pid_alive(pid):
            stop_pid(pid)
    if state.broker_kind == "kafka":
        # Like tansu's in-memory storage, a stopped development Kafka starts empty next time (and may then
        # have another number of nodes than the storage was formatted for).
        shutil.rmtree(settings.state_dir / "kafka", ignore_errors=True)
    _write_state(settings, StackState())
    return state


def status(settings: Settings) -> dict[str, object]:
    state = read_state(settings)
    host, _, port = settings.bootstrap_servers[0].rpartition(":")
    started = time.monotonic()
    broker_up = port_open(host, int(port))
    return {
        "broker": {
            "bootstrap": state.broker_bootstrap or settings.kafka_bootstrap,
            "reachable": broker_up,
            "managed_pid": state.broker_pid if state.broker_pid and pid_alive(state.broker_pid) else None,
            "kind": state.broker_kind,
            "managed_pids": [p for p in state.broker_pids or [] if pid_alive(p)],
        },
        "redis": {
            "url": settings.redis_url,
            "reachable": redis_server.ping(settings.redis_url),
            "managed_pid": state.redis_pid if state.redis_pid and pid_alive(state.redis_pid) else None,
        },
        "checked_in_s": round(time.monotonic() - started, 3),
    }
