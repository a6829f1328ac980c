"""`lepton-stream mask`: stdin lines → the same lines with personal data masked (the worker's masking)."""

from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser("mask", help="mask personal data in stdin lines")
    p.set_defaults(func=run)


def run(args) -> int:
    from lepton_stream.pipeline.masking import mask

    for line in sys.stdin:
        end = "\n" if line.endswith("\n") else ""
        sys.stdout.write(mask(line.rstrip("\n")) + end)
    return 0
