"""The console's HTTP server: the page, its JSON API and a server-sent-event stream; read-only, GET only.

Stdlib ThreadingHTTPServer (as the workers' ops server): one daemon thread per connection, so an open event
stream never holds up a request, and no web framework joins the worker image for a page.

Access: bound to a loopback address the console needs no token, but then answers only requests whose Host is
a loopback name (a web page the operator visits cannot reach it through a rebinding DNS name). Bound anywhere
else it refuses to start without LEPTON_CONSOLE_TOKEN, and checks the token on every request: header
(`Authorization: Bearer`, `X-Console-Token`), `?token=`, or the cookie set when the page was first opened with
it (EventSource cannot send headers).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import threading
import time
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from lepton_stream import logs
from lepton_stream.console.model import ConsoleState

log = logs.get(__name__)
COOKIE = "lepton_console"
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
MAX_STREAMS = 32  # event streams at once: each holds a thread
KEEPALIVE_S = 15.0
MIN_PUSH_S = 0.5  # at most two pushes a second per stream: a busy chat topic changes the state per record
STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/console.js": ("console.js", "text/javascript; charset=utf-8"),
    "/static/console.css": ("console.css", "text/css; charset=utf-8"),
}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


class TokenRequired(SystemExit):
    """Raised (and exits) when the console would be reachable from elsewhere without a token."""


def is_loopback(host: str) -> bool:
    h = host.strip("[]").lower()
    if h in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve anywhere


def _static(name: str) -> bytes:
    return (resources.files("lepton_stream.console") / "static" / name).read_bytes()


class _Handler(BaseHTTPRequestHandler):
    server: ConsoleServer
    protocol_version = "HTTP/1.1"
    # On the socket: a client that sends no request, or stops reading its event stream, frees its thread.
    timeout = 30

    def do_GET(self) -> None:  # noqa: N802 (stdlib name)
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        path = url.path
        if not self._allowed(query, path):
            return
        srv = self.server
        if path in STATIC:
            name, ctype = STATIC[path]
            self._send(200, _static(name), ctype)
        elif path == "/api/alerts":
            self._json(200, srv.state.alerts())
        elif path == "/api/queues":
            self._json(200, srv.state.support())
        elif path.startswith("/api/alerts/"):
            self._incident(path.removeprefix("/api/alerts/"))
        elif path == "/events":
            self._events()
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self) -> None:  # noqa: N802
        self._json(405, {"error": "the console is read-only"}, {"Allow": "GET"})

    do_PUT = do_DELETE = do_PATCH = do_POST  # noqa: N815

    def _allowed(self, query: dict[str, list[str]], path: str) -> bool:
        srv = self.server
        if srv.token is None:
            host = urlsplit("//" + (self.headers.get("Host") or "")).hostname or ""
            if not is_loopback(host):
                self._json(403, {"error": "the console answers loopback host names only"})
                return False
            return True
        given = self.headers.get("X-Console-Token") or ""
        auth = self.headers.get("Authorization") or ""
        if auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        from_query = (query.get("token") or [""])[0]
        cookie = SimpleCookie()
        try:
            cookie.load(self.headers.get("Cookie") or "")
        except Exception:  # a malformed Cookie header is no token, not an error page
            cookie = SimpleCookie()
        candidates = [given, from_query, cookie[COOKIE].value if COOKIE in cookie else ""]
        if not any(c and hmac.compare_digest(c.encode(), srv.token.encode()) for c in candidates):
            self._json(401, {"error": "token required (LEPTON_CONSOLE_TOKEN): open the page with ?token=..."},
                       {"WWW-Authenticate": 'Bearer realm="lepton-console"'})  # fmt: skip
            return False
        if from_query and path == "/":
            # Into a cookie, and out of the address bar (and history, and screenshots) at once.
            self._send(303, b"", "text/plain", {"Location": "/", "Set-Cookie": self._cookie(srv.token)})
            return False
        return True

    @staticmethod
    def _cookie(token: str) -> str:
        return f"{COOKIE}={quote(token, safe='')}; Path=/; HttpOnly; SameSite=Strict"

    def _incident(self, rest: str) -> None:
        key, _, tail = rest.partition("/")
        inc = self.server.state.incident(key)
        if inc is None:
            self._json(404, {"error": f"no incident {key[:64]!r}"})
        elif tail == "":
            self._json(200, inc)
        elif tail == "series":
            try:
                from lepton_stream.console.series import series

                body = series(self.server.redis, self.server.prefix, inc)
            except Exception as exc:  # Redis down: the chart says so, the rest of the page goes on
                log.warning("console_series_failed", error=f"{type(exc).__name__}: {exc}")
                self._json(503, {"error": f"cannot read the buckets from Redis: {type(exc).__name__}"})
                return
            self._json(200, body)
        else:
            self._json(404, {"error": "not found"})

    def _events(self) -> None:
        srv = self.server
        if not srv.streams.acquire(blocking=False):
            self._json(503, {"error": "too many event streams"}, {"Retry-After": "5"})
            return
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("X-Accel-Buffering", "no")  # a reverse proxy must not hold events back
            for k, v in SECURITY_HEADERS.items():
                self.send_header(k, v)
            self.end_headers()
            self.close_connection = True
            state = srv.state
            seen, sent_alerts, sent_queues = -1, -1, -1
            last_write = time.monotonic()
            self._event("retry", "3000")
            while not srv.closing.is_set():
                version = state.wait(seen, timeout=1.0)
                if version != seen:
                    seen = version
                    if state.alerts_version != sent_alerts:
                        sent_alerts = state.alerts_version
                        self._event("alerts", json.dumps(state.alerts(), default=str))
                    if state.queues_version != sent_queues:
                        sent_queues = state.queues_version
                        self._event("queues", json.dumps(state.support(), default=str))
                    last_write = time.monotonic()
                    srv.closing.wait(MIN_PUSH_S)
                elif time.monotonic() - last_write > KEEPALIVE_S:
                    self.wfile.write(b": keepalive\n\n")  # finds a closed client, and keeps proxies from timing out
                    self.wfile.flush()
                    last_write = time.monotonic()
        except OSError:
            pass  # the browser went away (a reset, a broken pipe, or a write that timed out)
        finally:
            srv.streams.release()

    def _event(self, name: str, data: str) -> None:
        if name == "retry":
            self.wfile.write(f"retry: {data}\n\n".encode())
        else:
            self.wfile.write(f"event: {name}\ndata: {data}\n\n".encode())
        self.wfile.flush()

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(body, default=str).encode(), "application/json", headers)

    def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in {**SECURITY_HEADERS, **(headers or {})}.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # the stdlib's line per request would carry ?token= into the log


class ConsoleServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], state: ConsoleState, redis: Any, prefix: str,
                 token: str | None) -> None:  # fmt: skip
        if token is None and not is_loopback(addr[0]):
            raise TokenRequired(f"refusing to serve the console on {addr[0]} without a token: set LEPTON_CONSOLE_TOKEN "
                                "(or LEPTON_CONSOLE_TOKEN_FILE), or bind to 127.0.0.1")
        if ":" in addr[0]:
            import socket

            self.address_family = socket.AF_INET6
        super().__init__(addr, _Handler)
        self.state, self.redis, self.prefix, self.token = state, redis, prefix, token
        self.streams = threading.BoundedSemaphore(MAX_STREAMS)
        self.closing = threading.Event()
        self.port: int = self.server_address[1]
        self._thread: threading.Thread | None = None

    def start(self) -> ConsoleServer:
        self._thread = threading.Thread(target=self.serve_forever, name="lepton-console-http", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self.closing.set()
        self.shutdown()
        self.server_close()
        if self._thread:
            self._thread.join(timeout=5)


class Console:
    """The console for a set of settings: state, the reader of its topics, and the HTTP server."""

    def __init__(self, settings: Any, host: str = "127.0.0.1", port: int = 0, backlog: int = 20_000) -> None:
        from lepton_stream.console.feed import Feed
        from lepton_stream.ops.kafka_security import redis_client

        token = settings.console_token.get_secret_value() if settings.console_token else None
        self.state = ConsoleState(settings.window_s)
        self.server = ConsoleServer((host, port), self.state, redis_client(settings), settings.redis_key_prefix,
                                    token)  # fmt: skip
        self.feed = Feed(settings, self.state, backlog=backlog)
        self.port = self.server.port
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self.port}/"

    def start(self) -> Console:
        self.feed.start()
        self.server.start()
        return self

    def close(self) -> None:
        self.server.close()
        self.feed.stop()

    def __enter__(self) -> Console:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
