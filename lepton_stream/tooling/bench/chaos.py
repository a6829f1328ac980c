"""`lepton-stream chaos`: replay a stream with a planted incident twice through worker subprocesses, once
clean and once while killing workers (SIGKILL at random moments), scaling 1 -> 3 -> 1, restarting Redis and
restarting the broker; then compare what the two runs left behind (bench/accounting.py).

Everything runs on services started here and stopped at the end (bench/services.py): the broker is tansu on S3
storage (a local moto server), so a broker restart keeps topics, records and committed offsets, or Apache Kafka
as three KRaft nodes (`broker="kafka"`), topics with 3 replicas and min.insync.replicas 2, whose broker restart
SIGKILLs the node leading the input partitions; Redis is a private valkey with an fsync-always append-only file
so a Redis restart keeps state. The machine's shared Redis is never touched.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis
from kafka import KafkaConsumer, TopicPartition

from lepton_stream.config import Settings, load_settings
from lepton_stream.kafka.backend import client_kwargs, ensure_topics, make_producer
from lepton_stream.runtime import kind_layout, partitions
from lepton_stream.tooling.bench.accounting import RunOutput, compare, failures
from lepton_stream.tooling.bench.services import DurableBroker, DurableRedis, KafkaCluster
from lepton_stream.tooling.bench.workers import Pool
from lepton_stream.tooling.replay import synth
from lepton_stream.tooling.replay.synth import Record


@dataclass
class ChaosConfig:
    n: int = 20_000
    kills: int = 6
    redis_restarts: int = 1
    broker_restarts: int = 1
    scale: bool = True  # 1 -> 3 -> 1 workers
    seed: int = 7
    malformed: float = 0.05
    timeout_s: float = 1800.0
    stall_s: float = 120.0  # no output for this long: restart the workers, as a liveness probe would
    keep_dir: bool = False
    broker: str = "tansu"  # or "kafka": Apache Kafka, `brokers` KRaft nodes
    brokers: int = 3


STREAM_HOURS = 8.0
SETTLE_S = 20.0  # quiet seconds, every input committed, before a run is judged on what it left


def lateness_for(n: int, max_records: int, partitions: int = 4) -> int:
    """Allowed lateness for a compressed replay: well over the event time one partition's micro-batch spans.

    The state stage raises the watermark with a batch's newest event before applying the batch, so a batch
    spanning more event time than the allowed lateness drops its own oldest events, depending on where the
    batch boundaries fall (reported as a bug): a small stream over 8 hours does exactly that."""
    span_s = STREAM_HOURS * 3600 * max_records / max(1, n / partitions)
    return max(3600, int(3 * span_s))


def run_settings(base: Settings, bootstrap: str, redis_url: str, run_id: str, name: str, n: int,
                 broker: str = "tansu", brokers: int = 1) -> Settings:  # fmt: skip
    """This run's own topics, group and key prefix; the demo's detector warm-up for a compressed stream."""
    d = base.model_dump()
    for t in ("news_raw", "chat_raw", "news_enriched", "chat_routed", "alerts"):
        d[f"topic_{t}"] = f"chaos-{run_id}-{name}.{getattr(base, f'topic_{t}')}"
    d.update(kafka_bootstrap=bootstrap, redis_url=redis_url, redis_key_prefix=f"chaos:{run_id}:{name}:",
             group_prefix=f"chaos-{run_id}-{name}", models_dir=base.models_dir.resolve(), detector_warmup=24,
             detector_warmup_s=0, session_timeout_ms=6000, heartbeat_interval_ms=1500, outbox_grace_s=10,
             metrics_port=0, log_level="INFO", log_format="json", create_topics=True,
             # Also the rebalance timeout: a join waits this long for members that died (batches take < 2 s).
             max_poll_interval_ms=20_000,
             # One text per forward pass: int8 dynamic quantization scales activations per batch, so a text's
             # label can depend on its batch-mates (3.8% of labels differed between two batchings of the same
             # stream); a crash changes batch composition, and the comparison must show state, not that.
             infer_batch_size=1, allowed_lateness_s=lateness_for(n, base.max_records),
             # tansu 0.6.0 keeps idempotent producers' sequence state apart from the records: after a restart it
             # answered a retried batch as a duplicate without ever having stored it (acknowledged records lost;
             # docs/engines.md, tansu versus Kafka). Plain retries store it again (at-least-once). Kafka: on.
             producer_idempotence=broker == "kafka")  # fmt: skip
    if broker == "kafka":  # every topic on every node; a write needs two of them (one node may be down)
        d.update(topic_replication_factor=min(3, brokers), topic_min_insync_replicas=min(2, brokers))
    return load_settings(**d)




def produce_input(s: Settings, records: list[Record]) -> dict[int, int]:
    """Send every record; returns the end offset of each input partition (from the acknowledgements: tansu's
    end_offsets is unreliable)."""
    ensure_topics(s, {s.topic_news_raw: partitions(s, "news"), **kind_layout(s, "news")})
    producer = make_producer(s)
    futures = [producer.send(s.topic_news_raw, key=r.key, value=r.value) for r in records]
    producer.flush()
    producer.close()
    ends: dict[int, int] = {}
    for f in futures:
        md = f.get(timeout=30)
        ends[md.partition] = max(ends.get(md.partition, 0), md.offset + 1)
    return ends


@dataclass
class Outputs:
    """Keeps reading a run's output topics from the beginning while its workers run."""

    s: Settings
    out: RunOutput = field(default_factory=RunOutput)
    ids: set[str] = field(default_factory=set)
    dlq_keys: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.consumer = KafkaConsumer(**client_kwargs(self.s), enable_auto_commit=False)
        tps = [TopicPartition(t, p) for t, n in kind_layout(self.s, "news").items() for p in range(n)]
        self.consumer.assign(tps)
        self.consumer.seek_to_beginning(*tps)

    def poll(self, timeout_ms: int = 300) -> int:
        n = 0
        for tp, recs in self.consumer.poll(timeout_ms=timeout_ms).items():
            for r in recs:
                v = json.loads(r.value)
                n += 1
                if tp.topic == self.s.topic_news_enriched:
                    self.out.enriched.append(v)
                    self.ids.add(v["id"])
                elif tp.topic == self.s.topic_alerts:
                    self.out.alerts.append(v)
                else:
                    self.out.dlq.append(v)
                    self.dlq_keys.add(v["original_sha256"])
        return n

    def close(self) -> None:
        self.consumer.close()


def committed_all(s: Settings, ends: dict[int, int]) -> bool:
    group = f"{s.group_prefix}-news"
    c = KafkaConsumer(**client_kwargs(s), group_id=group, enable_auto_commit=False)
    try:
        return all((c.committed(TopicPartition(s.topic_news_raw, p)) or 0) >= end for p, end in ends.items())
    except Exception:  # noqa: BLE001 - broker restarting: not yet
        return False
    finally:
        c.close()


def buckets(redis_url: str, prefix: str) -> dict[str, dict[str, str]]:
    client = redis.Redis.from_url(redis_url)
    try:
        keys = [k.decode() for k in client.scan_iter(match=f"{prefix}{{news:*}}:b:*", count=1000)]
        pipe = client.pipeline(transaction=False)
        for k in keys:
            pipe.hgetall(k)
        return {k[len(prefix) :]: {f.decode(): v.decode() for f, v in h.items()}
                for k, h in zip(keys, pipe.execute(), strict=True)}  # fmt: skip
    finally:
        client.close()


class Run:
    """One replay through a pool of workers, with optional chaos steps fired at progress fractions."""

    def __init__(self, s: Settings, ends: dict[int, int], n_valid: int, n_bad: int, logdir: Path,
                 broker: DurableBroker | KafkaCluster, stall_s: float = 120.0):  # fmt: skip
        self.s, self.ends, self.n_valid, self.n_bad, self.stall_s = s, ends, n_valid, n_bad, stall_s
        self.broker = broker
        self.pool = Pool(s, logdir)
        self.outputs = Outputs(s)
        self.crashes = 0

    @property
    def progress(self) -> float:
        return len(self.outputs.ids) / max(1, self.n_valid)

    def complete(self) -> bool:
        return len(self.outputs.ids) >= self.n_valid and len(self.outputs.dlq_keys) >= self.n_bad

    def restart_broker(self, event: str) -> None:
        down_s = self.broker.restart(hard=True, topic=self.s.topic_news_raw)
        node = self.broker.killed[-1] if isinstance(self.broker, KafkaCluster) else None
        self.pool.note(event, down_s=round(down_s, 2), **({"node": node} if node else {}))

    def tick(self) -> None:
        self.outputs.poll()
        for n in self.pool.crashed():  # a worker that died by itself: counted, replaced
            self.crashes += 1
            rc = self.pool.procs.pop(n).returncode
            self.pool.note("crashed", worker=n, rc=rc)
            self.pool.spawn()

    def run(self, steps: list[tuple[float, str, Callable[[], None]]], timeout_s: float) -> float:
        t0 = time.monotonic()
        self.pool.spawn()
        pending = sorted(steps, key=lambda x: x[0])
        seen, since, stalls = -1, time.monotonic(), 0
        while time.monotonic() - t0 < timeout_s:
            self.tick()
            done = len(self.outputs.ids) + len(self.outputs.dlq_keys)
            if done != seen:
                seen, since, stalls = done, time.monotonic(), 0
            elif not pending and time.monotonic() - since > SETTLE_S and committed_all(self.s, self.ends):
                # Every input offset is committed and nothing more comes out: what is missing now is lost, and
                # the report says so (waiting for it would only hang).
                self.pool.note("settled", progress=round(self.progress, 3))
                break
            elif time.monotonic() - since > self.stall_s and not self.complete():
                # In Kubernetes the liveness probe restarts a pod whose poll loop is stuck; here the harness does
                # it, and reports it. Seen on tansu: workers waiting in a JoinGroup that it never answers, after
                # members left during a rebalance; new workers wait the same way, and only a broker restart
                # (its group state is in memory) ends it: the second stall in a row restarts the broker. The
                # report counts both, on any broker (on Kafka they must stay 0).
                stalls += 1
                if stalls >= 2:
                    self.restart_broker("broker_restart_unstick")  # what an operator would do next
                else:
                    for n in self.pool.alive():
                        self.pool.kill(n, event="liveness_restart")
                        self.pool.spawn()
                since = time.monotonic()
            while pending and self.progress >= pending[0][0]:
                at, name, action = pending.pop(0)
                action()
                self.pool.note(name, progress=round(self.progress, 3))
            if not pending and self.complete() and committed_all(self.s, self.ends):
                break
        took = time.monotonic() - t0
        self.pool.stop_all()
        # The last batches' outputs and any outbox re-publish: read until quiet.
        quiet = time.monotonic()
        while time.monotonic() - quiet < 3:
            if self.outputs.poll():
                quiet = time.monotonic()
        self.outputs.close()
        return took


def chaos_steps(cfg: ChaosConfig, run: Run, store: DurableRedis,
                rng: random.Random) -> list[tuple[float, str, Callable[[], None]]]:  # fmt: skip
    pool = run.pool

    def kill() -> None:
        time.sleep(rng.uniform(0.0, 1.5))  # a random moment, wherever the batch in hand is
        alive = pool.alive()
        if alive:
            pool.kill(rng.choice(alive))
        pool.spawn()

    def scale_up() -> None:
        while len(pool.alive()) < 3:
            pool.spawn()

    def scale_down() -> None:
        alive = pool.alive()
        for n in rng.sample(alive, max(0, len(alive) - 1)):
            pool.stop(n)

    def restart_redis() -> None:
        pool.note("redis_restart", down_s=round(store.restart(hard=True, down_s=rng.uniform(1.0, 3.0)), 2))

    def restart_broker() -> None:
        run.restart_broker("broker_restart")

    steps: list[tuple[float, str, Callable[[], None]]] = []
    span = (0.04, 0.78)
    for i in range(cfg.kills):
        at = span[0] + (span[1] - span[0]) * (i + rng.uniform(0.1, 0.9)) / max(1, cfg.kills)
        steps.append((at, "kill_step", kill))
    if cfg.scale:
        steps += [(0.10, "scaled_up", scale_up), (0.62, "scaled_down", scale_down)]
    for i in range(cfg.redis_restarts):
        steps.append((0.30 + 0.25 * i / max(1, cfg.redis_restarts), "redis_step", restart_redis))
    for i in range(cfg.broker_restarts):
        steps.append((0.46 + 0.2 * i / max(1, cfg.broker_restarts), "broker_step", restart_broker))
    return steps


def run_chaos(base: Settings, cfg: ChaosConfig, say: Callable[[str], None] = lambda _: None) -> dict:
    from lepton_stream.tooling.training.quick import ensure_bundles

    ensure_bundles(base.models_dir, ("news",))
    workdir = Path(tempfile.mkdtemp(prefix="lepton-chaos-"))
    broker: DurableBroker | KafkaCluster
    if cfg.broker == "kafka":
        broker = KafkaCluster(workdir / "kafka", brokers=cfg.brokers)
    elif cfg.broker == "tansu":
        broker = DurableBroker(workdir / "broker")
    else:
        raise ValueError(f"unknown broker {cfg.broker!r}: tansu or kafka")
    store = DurableRedis(workdir / "redis")
    rng = random.Random(cfg.seed)
    try:
        broker.start()
        store.start()
        records = synth.news_stream(n=cfg.n, seed=cfg.seed, malformed=cfg.malformed, hours=STREAM_HOURS)
        valid_ids = {r.id for r in records if r.id}
        n_bad = len({r.value for r in records if r.id is None})
        run_id = uuid.uuid4().hex[:6]
        runs: dict[str, Run] = {}
        took: dict[str, float] = {}
        for name in ("clean", "chaos"):
            s = run_settings(base, broker.bootstrap, store.url, run_id, name, cfg.n, cfg.broker, cfg.brokers)
            ends = produce_input(s, records)
            runs[name] = run = Run(s, ends, len(valid_ids), n_bad, workdir / name, broker, cfg.stall_s)
            steps = chaos_steps(cfg, run, store, rng) if name == "chaos" else []
            say(f"{name}: {len(records)} records, {len(steps)} chaos steps")
            took[name] = run.run(steps, cfg.timeout_s)
            say(f"{name}: done in {took[name]:.0f} s, {len(run.outputs.ids)}/{len(valid_ids)} ids")
            run.outputs.out.buckets = buckets(store.url, s.redis_key_prefix)
        report = compare(valid_ids, runs["clean"].outputs.out, runs["chaos"].outputs.out)
        if cfg.keep_dir:  # what the comparison saw, for a closer look
            for name, run in runs.items():
                (workdir / f"{name}-outputs.json").write_text(json.dumps(vars(run.outputs.out)))
        pool = runs["chaos"].pool
        kinds = [e["event"] for e in pool.events]
        return {
            "broker": cfg.broker if cfg.broker == "tansu" else f"Apache Kafka, {cfg.brokers} nodes",
            "topic_replication": [runs["chaos"].s.topic_replication_factor, runs["chaos"].s.topic_min_insync_replicas]
            if cfg.broker == "kafka" else None,
            "n": len(records),
            "valid": len(valid_ids),
            "malformed": n_bad,
            "sigkills": kinds.count("sigkill"),
            "worker_processes_started": pool.started,
            "max_workers": _max_alive(pool.events),
            "redis_restarts": kinds.count("redis_restart"),
            "broker_restarts": kinds.count("broker_restart"),
            "liveness_restarts": kinds.count("liveness_restart"),
            # Broker restarts the harness made to end a group join the broker never answered (not planned chaos).
            "broker_restarts_to_unstick": sum(e["event"] == "broker_restart_unstick"
                                              for r in runs.values() for e in r.pool.events),  # fmt: skip
            "worker_crashes_unplanned": runs["chaos"].crashes + runs["clean"].crashes,
            "producer_idempotence": runs["chaos"].s.producer_idempotence,  # off on tansu: docs/engines.md
            "clean_run_s": round(took["clean"], 1),
            "chaos_run_s": round(took["chaos"], 1),
            **report,
            "failures": failures(report),
            "timeline": pool.events,
            "workdir": str(workdir) if cfg.keep_dir else None,
        }
    finally:
        for run in locals().get("runs", {}).values():
            run.pool.stop_all()
        broker.stop()
        store.stop()
        if not cfg.keep_dir:
            shutil.rmtree(workdir, ignore_errors=True)


def _max_alive(events: list[dict]) -> int:
    alive = peak = 0
    for e in events:
        alive += {"spawn": 1, "sigkill": -1, "liveness_restart": -1, "sigterm": -1, "crashed": -1}.get(e["event"], 0)
        peak = max(peak, alive)
    return peak
