"""`lepton-stream produce KIND --file F [--rate R]` and `generate KIND --n N --out F`, for any registered kind."""

from __future__ import annotations

import json
from pathlib import Path

import workers


def register(sub) -> None:
    p = sub.add_parser("produce", help="replay a JSON-lines file of messages into the input topic")
    p.add_argument("kind", choices=workers.Choices(), metavar="KIND", help=workers.choices_help("worker kind"))
    p.add_argument("--file", type=Path, required=True)
    p.add_argument("--rate", type=float, default=None, help="messages per second (default: as fast as possible)")
    p.add_argument("--topic", default=None, help="override the input topic")
    p.set_defaults(func=run_produce)

    g = sub.add_parser("generate", help="write a synthetic stream (with malformed records and an incident)")
    g.add_argument("kind", choices=workers.Choices(), metavar="KIND", help=workers.choices_help("worker kind"))
    g.add_argument("--n", type=int, default=2000)
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--malformed", type=float, default=0.05, help="share of malformed records")
    g.add_argument("--no-incident", action="store_true")
    g.add_argument("--out", type=Path, required=True)
    g.set_defaults(func=run_generate)


def run_produce(args) -> int:
    from lepton_stream.config import settings
    from lepton_stream.kafka.backend import ensure_topics, make_producer
    from lepton_stream.runtime import input_partitions
    from lepton_stream.tooling.replay.producer import produce, read_jsonl

    s = settings()
    topic = args.topic or workers.get(args.kind).input_topic(s)
    ensure_topics(s, {topic: input_partitions(s).get(topic, 4)})
    producer = make_producer(s)
    try:
        report = produce(producer, topic, read_jsonl(args.file, args.kind), args.rate)
    finally:
        producer.close()
    print(json.dumps(report))
    return 0 if report["failed"] == 0 else 1


def run_generate(args) -> int:
    from lepton_stream.tooling.replay import synth

    kind = workers.get(args.kind)
    records = kind.stream(n=args.n, seed=args.seed, malformed=args.malformed, incident=not args.no_incident)
    synth.write_jsonl(records, args.out)
    print(json.dumps({"wrote": len(records), "malformed": sum(r.id is None for r in records), "file": str(args.out)}))
    return 0
