"""Real webhook receivers for the relay's tests: stdlib HTTP servers on 127.0.0.1, ephemeral ports, in threads.

A receiver answers each request through a behaviour (request number -> status, headers, delay) and records
what it got (headers, body, arrival time) for the test to check; `verify` recomputes the Standard Webhooks
signature independently, with the reference library and by hand.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
from standardwebhooks.webhooks import Webhook

from lepton_stream.contracts import Alert, Evidence, Window

# (status, extra headers, seconds to wait before answering)
Answer = tuple[int, dict[str, str], float]
Behaviour = Callable[[int], Answer]


def ok(_n: int) -> Answer:
    return 200, {}, 0.0


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float  # monotonic
    status: int  # what the receiver answered

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Receiver:
    behaviour: Behaviour = ok
    got: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self
        self.lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (stdlib name)
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                at = time.monotonic()
                with receiver.lock:
                    n = len(receiver.got)
                    status, headers, delay = receiver.behaviour(n)
                    receiver.got.append(Received({k.lower(): v for k, v in self.headers.items()}, body, at, status))
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except (BrokenPipeError, ConnectionResetError):  # the relay gave up on a slow answer
                    pass

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def delivered(self) -> list[Received]:
        with self.lock:
            return [r for r in self.got if 200 <= r.status < 300]

    def __enter__(self) -> Receiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def verify(secret: str, r: Received) -> Any:
    """The Standard Webhooks reference library's verification, and the same HMAC recomputed by hand."""
    payload = Webhook(secret).verify(r.body, r.headers)
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{r.headers['webhook-id']}.{r.headers['webhook-timestamp']}.".encode() + r.body
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert expected in r.headers["webhook-signature"].split(" ")
    return payload


def alert(i: int, kind: str = "sentiment_spike", severity: str = "high", subject: str = "TSM",
          **extra: Any) -> bytes:  # fmt: skip
    """A valid alert record (as the workers publish it), optionally with fields newer than the contract."""
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp() + 300 * i
    a = Alert(
        alert_id=hashlib.sha256(f"{kind}|{subject}|{i}".encode()).hexdigest()[:32],
        kind=kind,  # type: ignore[arg-type]
        subject=subject,
        subject_name=f"{subject} Corp",
        window=Window(start=datetime.fromtimestamp(start, UTC), end=datetime.fromtimestamp(start + 300, UTC)),
        counts={"negative": 12, "n": 20},
        baseline=1.5,
        score=0.93,
        severity=severity,  # type: ignore[arg-type]
        evidence=[Evidence(id=f"news-{i}", text="Fab fire halts output", confidence=0.9)],
        explanation=f"negative mentions of {subject} rose to 12 (baseline 1.5)",
        model_version="news-test",
    )
    doc = orjson.loads(a.model_dump_json())
    doc.update(extra)
    return orjson.dumps(doc)
