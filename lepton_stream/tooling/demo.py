"""`lepton-stream demo`: the whole product on one machine in a couple of minutes.

Starts the local stack, builds quick model bundles if none exist, replays a synthetic news stream with a
supply-chain incident and a chat stream with a card outage (plus malformed records) through both workers,
prints what came out, and stops what it started. Event time is compressed (8 hours of stream), so the
detectors' warm-up is shortened to 40 buckets (LEPTON_DETECTOR_WARMUP) for the demo.
"""

from __future__ import annotations

import collections
import importlib
import json
import signal
import time
import uuid
from pathlib import Path

from lepton_stream import logs
from lepton_stream.alerts import render
from lepton_stream.config import Settings, load_settings, settings
from lepton_stream.kafka.backend import ensure_topics, make_producer, read_topic
from lepton_stream.tooling.dev import stack
from lepton_stream.tooling.replay.producer import produce


def say(text: str = "") -> None:
    print(text, flush=True)


def demo_settings(base: Settings, run_id: str) -> Settings:
    """The user's settings with this run's own topics and key prefix, so demos never mix."""
    import workers

    d = base.model_dump()
    # Every topic setting a kind reads or writes (news.raw, chat.routed, alerts, ...); DLQs follow their input.
    used = {t for k in workers.kinds() for t in (k.input_topic(base), *k.output_topics(base))}
    for name in [f for f in d if f.startswith("topic_") and d[f] in used]:
        d[name] = f"demo-{run_id}.{d[name]}"
    d.update(redis_key_prefix=f"{base.redis_key_prefix}demo:{run_id}:", group_prefix=f"demo-{run_id}",
             detector_warmup=40, detector_warmup_s=0, session_timeout_ms=6000, heartbeat_interval_ms=1500)  # fmt: skip
    return load_settings(**d)


def run(n: int = 2000, keep_stack: bool = False, console_port: int | None = None) -> int:
    base = settings()
    state_dir = base.state_dir
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / "demo.log"
    logs.configure("INFO", "json", file=log_path.open("a"))
    say("Lepton Stream demo")
    say("=" * 78)
    before = stack.read_state(base)
    t0 = time.perf_counter()
    st = stack.up(base)
    started_here = st.broker_pid and st.broker_pid != before.broker_pid
    broker = base.kafka_bootstrap
    if started_here:
        broker = f"tansu {st.broker_bootstrap} (started in {st.broker_start_s:.3f} s)"
    say(f"stack    broker {broker}; Redis {base.redis_url}{' (private valkey)' if st.redis_pid else ''}")
    try:
        return _replay(base, n, log_path, console_port)
    finally:
        if not keep_stack and started_here:
            stack.down(base)
            say(f"stack    stopped what the demo started ({time.perf_counter() - t0:.0f} s in all)")


def _replay(base: Settings, n: int, log_path: Path, console_port: int | None = None) -> int:
    from lepton_stream.tooling.training.quick import ensure_bundles

    t = time.perf_counter()
    ensure_bundles(base.models_dir)
    say(f"models   {base.models_dir}/news, {base.models_dir}/chat ready in {time.perf_counter() - t:.1f} s "
        f"(runtime {base.runtime})")  # fmt: skip
    s = demo_settings(base, uuid.uuid4().hex[:6])
    if console_port is None:
        return _stream(s, n, log_path)
    from lepton_stream.console.server import Console

    # Up before the stream, on this run's topics and keys: the page fills in as the workers go.
    with Console(s, port=console_port) as console:
        say(f"console  {console.url}")
        _stream(s, n, log_path)
        say(f"console  still serving {console.url} (Ctrl-C to stop)")
        signal.signal(signal.SIGTERM, _interrupt)  # `kill` too stops what the demo started, not only Ctrl-C
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _stream(s: Settings, n: int, log_path: Path) -> int:
    import workers
    from lepton_stream.runtime import build_loop, build_worker

    # Every registered kind with a synthetic stream, each with its own seed (news 1, chat 2).
    kinds = [k for k in workers.kinds() if k.synth is not None]
    streams = {k.kind: k.stream(n=n, seed=i) for i, k in enumerate(kinds, 1)}
    topics = {k.kind: k.input_topic(s) for k in kinds}
    ensure_topics(s, dict.fromkeys(topics.values(), 4))
    producer = make_producer(s)
    for kind, records in streams.items():
        r = produce(producer, topics[kind], records)
        bad = sum(rec.id is None for rec in records)
        say(f"replay   {r['sent']} {kind} records ({bad} malformed) -> {topics[kind]} at {r['msgs_per_s']:.0f} msg/s")
    producer.close()

    for kind in streams:
        worker = build_worker(kind, s)
        loop = build_loop(worker)
        t = time.perf_counter()
        loop.run(idle_exit_s=4.0)
        took = time.perf_counter() - t - 4.0
        say(f"worker   {kind}: {len(streams[kind])} records in {took:.1f} s ({len(streams[kind]) / took:.0f} msg/s, "
            f"model {worker.model.version})")  # fmt: skip

    # Labelled by the default topic names (this run's are prefixed): news.enriched, chat.routed, alerts, ...
    defaults = Settings.model_construct()
    named = {k.output_topics(defaults)[0]: k.output_topics(s)[0] for k in kinds}
    named["alerts"] = s.topic_alerts
    named |= {f"{kind}.dlq": s.dlq_topic(topic) for kind, topic in topics.items()}
    out = {name: [json.loads(r.value) for r in read_topic(s, topic, settle_s=1.5)] for name, topic in named.items()}
    say()
    say("outputs  " + ", ".join(f"{k} {len(v)}" for k, v in out.items()))
    for k in kinds:  # each kind's own section (its demo hook), then what they share
        if k.demo is not None:
            module, func = k.demo.split(":")
            getattr(importlib.import_module(module), func)(out[k.output_topics(defaults)[0]])
    _show_alerts(out["alerts"])
    _show_dlq([d for kind in topics for d in out[f"{kind}.dlq"]])
    say()
    say(f"logs     {log_path} (JSON, one line per batch; no message text)")
    return 0


def show_news(enriched: list[dict]) -> None:
    say()
    say("Enriched news (a few incident headlines):")
    shown = [e for e in enriched if e["id"].startswith("news-1-inc")][:3]
    for e in shown:
        s = e["sentiment"]
        say(f"  [{s['label']} {s['confidence']:.2f}] {e['headline'][:90]}")
        say(f"      entities: {', '.join(m['id'] for m in e['entities'])}")
        for path in e["explanation"][:2]:
            say(f"      impacts:  {path}")


def _show_alerts(alerts: list[dict]) -> None:
    """Every record of the incidents' own alerts (firing, escalations, resolution), a few of the alerts they
    propagated, and how every incident ended."""
    say()
    say(f"Alerts ({len(alerts)} records, one per incident state change):")
    own = [a for a in alerts if a["kind"] != "propagated_risk"]
    propagated = sorted((a for a in alerts if a["kind"] == "propagated_risk"), key=render.sort_key)
    shown = own + [a for a in propagated if a.get("status") != "resolved"][:3]
    shown += [a for a in propagated if a.get("status") == "resolved"][:1]
    for a in sorted(shown, key=render.sort_key):
        for line in render.lines(a):
            say(line)
    if len(shown) < len(alerts):
        say(f"  ... and {len(alerts) - len(shown)} more propagated_risk records")
    say(render.by_kind(alerts))
    incidents: dict[str, list[dict]] = collections.defaultdict(list)
    for a in alerts:
        incidents[a.get("fingerprint") or a["alert_id"]].append(a)
    resolved = sum(any(a.get("status") == "resolved" for a in recs) for recs in incidents.values())
    say(f"  incidents: {len(incidents)} opened, {resolved} resolved (LEPTON_RESOLVE_AFTER_S of quiet event time)")


def show_routing(routed: list[dict]) -> None:
    say()
    say("Routing decisions (escalations first):")
    say(f"  {'conversation':<14} {'intent':<30} {'sent.':<8} {'queue':<9} prio esc  reasons")
    rows = sorted(routed, key=lambda r: (not r["escalate"], r["priority"]))[:8] + routed[:6]
    for r in rows:
        i = r["intent"]
        intent = ("OUT-OF-SCOPE " if i.get("out_of_scope") else "") + i["label"]
        say(f"  {r['conversation_id'][-14:]:<14} {intent[:30]:<30} {r['sentiment']['label'][:8]:<8} {r['queue']:<9} "
            f"{r['priority']:>4} {'yes' if r['escalate'] else 'no':<4} {'; '.join(r['reasons'])[:60]}")  # fmt: skip
    queues = collections.Counter(r["queue"] for r in routed)
    say("  by queue: " + ", ".join(f"{q} {c}" for q, c in queues.most_common()))
    masked = [r["text"] for r in routed if "[EMAIL]" in r["text"] or "[CARD]" in r["text"] or "[PHONE]" in r["text"]]
    if masked:
        say(f"  personal data masked in {len(masked)} messages, e.g. \"{masked[0][:90]}\"")


def _show_dlq(dlq: list[dict]) -> None:
    say()
    reasons = collections.Counter(d["reason"] for d in dlq)
    say(f"Dead letters ({len(dlq)}): " + ", ".join(f"{r} {c}" for r, c in reasons.most_common()))
    for d in dlq[:3]:
        say(f"  {d['source_topic']}[{d['partition']}]@{d['offset']}: {d['reason']}: {d['error'][:90]}")
