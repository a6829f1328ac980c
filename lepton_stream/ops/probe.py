"""Container HEALTHCHECK: `python -m lepton_stream.ops.probe [healthz|readyz]` exits 0 when the endpoint says 200.

The slim image has no curl; this keeps the check inside the interpreter already installed.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def check(endpoint: str = "healthz", port: int | None = None, timeout: float = 3.0) -> bool:
    port = port if port is not None else int(os.environ.get("LEPTON_METRICS_PORT", "9108"))
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/{endpoint}", timeout=timeout) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    endpoint = args[0] if args else "healthz"
    if endpoint not in ("healthz", "readyz"):
        print("usage: python -m lepton_stream.ops.probe [healthz|readyz]", file=sys.stderr)
        return 2
    return 0 if check(endpoint) else 1


if __name__ == "__main__":
    sys.exit(main())
