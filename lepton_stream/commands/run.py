"""`lepton-stream run KIND|relay`: run one worker of a registered kind (workers/), or the relay (alert delivery),
until SIGTERM."""

from __future__ import annotations

import signal

import workers


def register(sub) -> None:
    p = sub.add_parser("run", help="run a worker")
    # relay is no kind: it consumes alerts, has no model or contract of its own (lepton_stream/relay/)
    p.add_argument("kind", choices=workers.Choices("relay"), metavar="KIND",
                   help=workers.choices_help("worker kind, or relay"))
    p.add_argument("--idle-exit", type=float, default=None,
                   help="exit after this many idle seconds once partitions are assigned (tests, replays)")
    p.set_defaults(func=run)


def run(args) -> int:
    # A stop asked for during start-up (imports, model and graph load: seconds) is kept and honoured once the
    # loop exists: the worker leaves cleanly (exit 0) instead of dying on the default handler mid-load.
    # A second one (Ctrl-C again) leaves at once.
    asked: list[int] = []

    def keep(signum, _frame) -> None:
        if asked:
            raise KeyboardInterrupt
        asked.append(signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, keep)

    import structlog

    from lepton_stream import logs
    from lepton_stream.config import settings
    from lepton_stream.ops.http import serve
    from lepton_stream.ops.secrets import install_redaction

    s = settings()
    logs.configure(s.log_level, s.log_format)
    install_redaction(s)
    structlog.get_logger("lepton_stream.run").info("starting", kind=args.kind)
    if args.kind == "relay":  # needs no model, Redis or graph: none of their imports either
        return _relay(args, s, asked)
    from lepton_stream.runtime import build_loop, build_worker, health_for

    worker = build_worker(args.kind, s)
    health = health_for(worker)
    server = serve(s.metrics_port, health) if s.metrics_port else None
    return _run_until_stopped(build_loop(worker, health=health), server, args, asked)


def _relay(args, s, asked: list[int]) -> int:
    from lepton_stream.ops.http import serve
    from lepton_stream.ops.secrets import install_redaction
    from lepton_stream.relay import worker as relay

    health = relay.health(s)
    worker, loop = relay.build(s, health=health)
    install_redaction(s, extra=worker.redact)
    server = serve(s.metrics_port, health) if s.metrics_port else None
    return _run_until_stopped(loop, server, args, asked, close=worker.close)


def _run_until_stopped(loop, server, args, asked: list[int], close=lambda: None) -> int:
    """Run a loop until SIGTERM/SIGINT (one that came during start-up stops it at once), then close what it used
    and the metrics server."""
    loop.install_signal_handlers()
    if asked:
        loop.request_stop(asked[0])
    try:
        loop.run(idle_exit_s=args.idle_exit)
    finally:
        close()
        if server is not None:
            server.close()
    return 0
