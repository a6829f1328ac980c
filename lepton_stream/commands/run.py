"""`lepton-stream run news|chat`: run one worker of that kind until SIGTERM."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("run", help="run a worker")
    p.add_argument("kind", choices=["news", "chat"])
    p.add_argument("--idle-exit", type=float, default=None, help="exit after this many idle seconds (tests, replays)")
    p.set_defaults(func=run)


def run(args) -> int:
    from lepton_stream import logs
    from lepton_stream.config import settings
    from lepton_stream.ops.http import serve
    from lepton_stream.ops.secrets import install_redaction
    from lepton_stream.runtime import build_loop, build_worker, health_for

    s = settings()
    logs.configure(s.log_level, s.log_format)
    install_redaction(s)
    worker = build_worker(args.kind, s)
    health = health_for(worker)
    server = serve(s.metrics_port, health) if s.metrics_port else None
    loop = build_loop(worker, health=health)
    loop.install_signal_handlers()
    try:
        loop.run(idle_exit_s=args.idle_exit)
    finally:
        if server is not None:
            server.close()
    return 0
