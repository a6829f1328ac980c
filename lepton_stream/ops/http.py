"""One small HTTP server per worker: /metrics (Prometheus), /healthz (liveness), /readyz (readiness).

Stdlib ThreadingHTTPServer in a daemon thread: a probe never waits behind the batch in hand, and the
server dies with the process.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

from lepton_stream.ops.health import Health


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (stdlib name)
        path = self.path.split("?", 1)[0]
        health = self.server.health
        if path == "/metrics":
            self._send(200, generate_latest(self.server.registry), CONTENT_TYPE_LATEST)
        elif path == "/healthz":
            live = health.live()
            body = {"live": live, "since_poll_s": round(health.since_poll_s(), 3), "limit_s": health.stall_after_s,
                    "oldest_batch_age_s": round(health.oldest_batch_age_s(), 3),
                    "batch_limit_s": health.stuck_batch_s}
            self._json(200 if live else 503, body)
        elif path == "/readyz":
            ok, checks = health.ready()
            self._json(200 if ok else 503, {"ready": ok, "checks": checks})
        else:
            self._send(404, b"not found\n", "text/plain")

    def _json(self, status: int, body: dict) -> None:
        self._send(status, (json.dumps(body) + "\n").encode(), "application/json")

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # probes every few seconds would drown the worker's structured log


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], health: Health, registry: CollectorRegistry) -> None:
        super().__init__(addr, _Handler)
        self.health = health
        self.registry = registry


class OpsServer:
    """Handle on the running server: `.port` (the bound one, useful with port 0) and `.close()`."""

    def __init__(self, server: _Server) -> None:
        self._server = server
        self.port: int = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, name="lepton-ops-http", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> OpsServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve(port: int, health: Health, *, host: str = "0.0.0.0", registry: CollectorRegistry = REGISTRY) -> OpsServer:
    """Start serving in the background; port 0 binds an ephemeral port (tests)."""
    return OpsServer(_Server((host, port), health, registry))
