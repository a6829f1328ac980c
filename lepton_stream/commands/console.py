"""`lepton-stream console [--host H] [--port N]`: serve the read-only live console (docs/console.md)."""

from __future__ import annotations

import sys
import time


def register(sub) -> None:
    p = sub.add_parser("console", help="serve the live web console (alerts, their charts, support queues)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1; any other needs LEPTON_CONSOLE_TOKEN)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = any free one)")
    p.add_argument("--backlog", type=int, default=20_000,
                   help="records read back from each partition's end at start (default 20000)")
    p.set_defaults(func=run)


def run(args) -> int:
    from lepton_stream import logs
    from lepton_stream.config import settings
    from lepton_stream.console.server import Console, TokenRequired

    s = settings()
    logs.configure(s.log_level, s.log_format)
    try:
        console = Console(s, args.host, args.port, backlog=args.backlog)
    except TokenRequired as exc:
        print(exc, file=sys.stderr)
        return 2
    except OSError as exc:  # the port is taken, or the address is not this machine's
        print(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    with console:
        print(f"console  {console.url}  (alerts: {s.topic_alerts}, chats: {s.topic_chat_routed}, "
              f"broker {s.kafka_bootstrap}; Ctrl-C to stop)", flush=True)  # fmt: skip
        while True:
            time.sleep(3600)
