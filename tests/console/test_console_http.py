"""The console's HTTP side against a real Redis and a real broker: JSON endpoints, the chart's series from the
workers' buckets, server-sent events, and who may read it (loopback only, or a token on every request)."""

from __future__ import annotations

import http.client
import json
import time
import uuid
from datetime import timedelta

import pytest

from lepton_stream.config import load_settings
from lepton_stream.console.model import ConsoleState
from lepton_stream.console.server import Console, ConsoleServer, TokenRequired
from lepton_stream.kafka.backend import ensure_topics, make_producer
from lepton_stream.state.cluster import connect
from lepton_stream.state.windows import Event, WindowStore
from tests.console.factory import T0, alert, routed


def get(port: int, path: str, headers: dict[str, str] | None = None, method: str = "GET"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request(method, path, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, dict(r.getheaders()), body


@pytest.fixture
def served(redis_url, key_prefix):
    state = ConsoleState(window_s=300)
    server = ConsoleServer(("127.0.0.1", 0), state, connect(redis_url), key_prefix, None).start()
    yield state, server
    server.close()


def test_the_page_and_its_assets_load_with_a_strict_policy(served):
    _, server = served
    status, headers, body = get(server.port, "/")
    assert status == 200 and b"/static/console.js" in body
    assert "default-src 'self'" in headers["Content-Security-Policy"] and headers["X-Frame-Options"] == "DENY"
    assert b"<script>" not in body, "no inline script: the policy forbids it"
    for asset in ("/static/console.js", "/static/console.css"):
        assert get(server.port, asset)[0] == 200
    assert get(server.port, "/static/../model.py")[0] == 404
    assert get(server.port, "/api/alerts", method="POST")[0] == 405


def test_alerts_series_and_queues(served, key_prefix, redis_url):
    state, server = served
    spike = alert()
    state.add_alert(spike)
    state.add_alert(alert("propagated_risk", "AAPL", origin="TSM"))
    state.add_alert(alert("intent_surge", "card_not_working"))
    state.add_routed(routed(1, "cards", "card_not_working", T0, escalate=True))
    # The buckets as the news and chat workers write them.
    t0 = int(T0.timestamp())
    news = WindowStore(connect(redis_url), key_prefix, "news", 300, 3600)
    events = [Event("news.raw:0", "TSM", f"n{i}", t0 - 300 * (i % 10 + 1) + 1, "negative", 0.9, offset=i)
              for i in range(20)]  # fmt: skip
    events += [Event("news.raw:0", "TSM", f"s{i}", t0 + 10 + i, "negative", 0.9, offset=100 + i) for i in range(13)]
    news.apply(events, watermark=t0)
    chat = WindowStore(connect(redis_url), key_prefix, "chat", 300, 3600)
    chat.apply([Event("chat.raw:0", "card_not_working", f"c{i}", t0 + i, "n", 0.9, offset=i) for i in range(12)], t0)

    status, _, body = get(server.port, "/api/alerts")
    incidents = json.loads(body)["incidents"]
    assert status == 200 and {i["kind"] for i in incidents} == {"sentiment_spike", "propagated_risk", "intent_surge"}

    status, _, body = get(server.port, f"/api/alerts/{spike['alert_id']}/series")
    s = json.loads(body)
    assert status == 200 and (s["kind"], s["subject"], s["label"], s["bucket_s"]) == ("news", "TSM", "negative", 300)
    by_t = {p["t"]: p["value"] for p in s["points"]}
    assert by_t[T0.isoformat()] == 13.0 and by_t[(T0 - timedelta(minutes=5)).isoformat()] == 2.0
    assert len(s["points"]) == 36 + 12 + 1 and s["baseline"] == spike["baseline"]

    aapl = next(i for i in incidents if i["subject"] == "AAPL")
    s = json.loads(get(server.port, f"/api/alerts/{aapl['fingerprint']}/series")[2])
    assert s["subject"] == "TSM", "a propagated alert's counts are its origin's"
    surge = next(i for i in incidents if i["kind"] == "intent_surge")
    s = json.loads(get(server.port, f"/api/alerts/{surge['fingerprint']}/series")[2])
    stored = float(connect(redis_url).hget(chat.key("card_not_working", f"b:{t0}"), "n"))
    assert (s["kind"], s["label"]) == ("chat", "n") and max(p["value"] for p in s["points"]) == stored > 0
    assert get(server.port, "/api/alerts/nope/series")[0] == 404

    q = json.loads(get(server.port, "/api/queues")[2])
    assert q["queues"][0]["queue"] == "cards" and q["escalations"][0]["id"] == "msg-1"
    assert q["surges"][0]["queue"] == "cards"


def test_events_push_the_state_and_its_changes(served):
    state, server = served
    c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    c.request("GET", "/events")
    r = c.getresponse()
    assert r.status == 200 and r.getheader("Content-Type") == "text/event-stream"

    def next_event() -> tuple[str, dict]:
        name = None
        while True:
            line = r.fp.readline().decode().rstrip("\n")
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: ") and name:
                return name, json.loads(line[6:])

    got = dict([next_event(), next_event()])
    assert got["alerts"]["incidents"] == [] and got["queues"]["queues"] == []
    state.add_alert(alert())
    name, data = next_event()
    assert name == "alerts" and data["incidents"][0]["subject"] == "TSM"
    state.add_alert(alert(status="resolved", fingerprint=data["incidents"][0]["fingerprint"], sequence=2))
    name, data = next_event()
    assert data["incidents"][0]["status"] == "resolved"
    c.close()


def test_on_loopback_only_loopback_host_names_are_answered(served):
    _, server = served
    assert get(server.port, "/api/alerts", {"Host": f"localhost:{server.port}"})[0] == 200
    assert get(server.port, "/api/alerts", {"Host": f"[::1]:{server.port}"})[0] == 200
    assert get(server.port, "/api/alerts", {"Host": "attacker.example:8765"})[0] == 403


def test_another_address_needs_a_token_and_every_request_carries_it(redis_url, key_prefix):
    with pytest.raises(TokenRequired):
        ConsoleServer(("0.0.0.0", 0), ConsoleState(), None, key_prefix, None)
    token = "s3cret-" + uuid.uuid4().hex
    server = ConsoleServer(("0.0.0.0", 0), ConsoleState(), connect(redis_url), key_prefix, token).start()
    try:
        p = server.port
        assert get(p, "/")[0] == 401 and get(p, "/api/alerts")[0] == 401 and get(p, "/events")[0] == 401
        assert get(p, "/api/alerts", {"Authorization": "Bearer wrong"})[0] == 401
        assert get(p, "/api/alerts", {"Authorization": f"Bearer {token}"})[0] == 200
        assert get(p, "/api/alerts", {"X-Console-Token": token})[0] == 200
        assert get(p, f"/api/alerts?token={token}")[0] == 200
        # Opened with ?token=: a cookie, and the token out of the address bar.
        status, headers, _ = get(p, f"/?token={token}")
        assert status == 303 and headers["Location"] == "/"
        cookie = headers["Set-Cookie"].split(";")[0]
        assert "HttpOnly" in headers["Set-Cookie"] and "SameSite=Strict" in headers["Set-Cookie"]
        assert get(p, "/", {"Cookie": cookie})[0] == 200
        assert get(p, "/api/queues", {"Cookie": "lepton_console=nope"})[0] == 401
    finally:
        server.close()


def test_the_console_reads_topics_created_after_it_started(broker, redis_url, key_prefix):
    tag = uuid.uuid4().hex[:8]
    s = load_settings(kafka_bootstrap=broker.bootstrap, redis_url=redis_url, redis_key_prefix=key_prefix,
                      topic_alerts=f"alerts.{tag}", topic_chat_routed=f"chat.routed.{tag}")  # fmt: skip
    with Console(s) as console:
        deadline = time.monotonic() + 30
        while "waiting for topic" not in (console.state.alerts()["feed_error"] or ""):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        ensure_topics(s, {s.topic_alerts: 2, s.topic_chat_routed: 2})
        producer = make_producer(s)
        producer.send(s.topic_alerts, key=b"TSM", value=json.dumps(alert()).encode())
        producer.send(s.topic_alerts, key=b"x", value=b"not json")
        for i in range(5):
            producer.send(s.topic_chat_routed, key=b"c", value=json.dumps(routed(i, "cards", "card_not_working",
                                                                                 T0, i == 0)).encode())  # fmt: skip
        producer.flush()
        producer.close()
        while console.feed.records < 7:
            assert time.monotonic() < deadline, console.state.alerts()
            time.sleep(0.2)
        view = console.state.alerts()
        assert [i["subject"] for i in view["incidents"]] == ["TSM"] and view["skipped"] == 1
        assert view["feed_error"] is None
        assert console.state.support()["queues"][0]["total"] == 5
        assert json.loads(get(console.port, "/api/alerts")[2])["firing"] == 1
