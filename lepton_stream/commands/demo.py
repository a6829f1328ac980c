"""`lepton-stream demo`: local stack, quick models, a replayed stream with incidents, and what came out."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("demo", help="run the end-to-end demo on this machine")
    p.add_argument("--n", type=int, default=2000, help="records per stream")
    p.add_argument("--keep-stack", action="store_true", help="leave the broker running afterwards")
    p.add_argument("--console", type=int, nargs="?", const=8765, default=None, metavar="PORT",
                   help="serve the live console on 127.0.0.1:PORT (default 8765) during the demo and after it, "
                   "until Ctrl-C")
    p.set_defaults(func=run)


def run(args) -> int:
    from lepton_stream.tooling.demo import run as demo

    return demo(n=args.n, keep_stack=args.keep_stack, console_port=args.console)
