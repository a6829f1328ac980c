"""The one entry point: `lepton-stream COMMAND ...`. Each command group lives in lepton_stream/commands/."""

from __future__ import annotations

import argparse
import importlib
import sys

# One module per command group; each exposes register(subparsers) and sets `func` on its parsers.
COMMAND_MODULES = [
    "dev",
    "run",
    "produce",
    "schemas",
    "mask",
    "demo",
    "models",
    "bench",
    "detect",
    "watermark",
    "kg",
    "chaos",
    "alerts",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lepton-stream", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"lepton_stream.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
