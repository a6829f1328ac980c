"""The relay's pure logic: targets file, routing, signing, webhook ids, backoff, Retry-After, token bucket and
the Alertmanager payload."""

from __future__ import annotations

import base64
import json
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import orjson
import pytest
import yaml
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from lepton_stream.config import ConfigError
from lepton_stream.relay import payload, signing
from lepton_stream.relay.policy import TokenBucket, backoff_delay, retry_after_s
from lepton_stream.relay.targets import Target, decode_secret, load
from tests.relay.receivers import Received, alert, new_secret, verify

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()


def target(**kw) -> Target:
    return Target(**{"name": "t", "url": "http://127.0.0.1:9/hook", "secret_env": "T_SECRET", **kw})


# ------------------------------------------------------------------ targets file


def test_targets_file_yaml_and_json_give_the_same_targets(tmp_path):
    doc = {"targets": [
        {"name": "risk-desk", "url": "https://hooks.example/risk", "format": "alertmanager",
         "secret_env": "RISK_SECRET", "kinds": ["sentiment_spike", "propagated_risk"], "min_severity": "high",
         "subjects": ["TSM", "AAPL*"], "rate_per_s": 2, "burst": 4},
        {"name": "support", "url": "http://127.0.0.1:8080/x", "secret_file": str(tmp_path / "s")},
    ]}  # fmt: skip
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(doc))
    (tmp_path / "t.json").write_text(json.dumps(doc))
    a, b = load(tmp_path / "t.yaml"), load(tmp_path / "t.json")
    assert a == b and [t.name for t in a] == ["risk-desk", "support"]
    assert a[0].format == "alertmanager" and a[0].rate_per_s == 2 and a[1].format == "lepton"


@pytest.mark.parametrize(
    ("entry", "expect"),
    [
        ({"secret": "whsec_abc"}, "secret"),  # a secret in clear is refused: it names where the secret is
        ({"min_severty": "high"}, "min_severty"),  # a misspelt key is an error, not ignored
        ({"format": "slack"}, "format"),
        ({"secret_env": None}, "exactly one"),
        ({"secret_file": "/x"}, "exactly one"),  # both given
        ({"url": "ftp://x"}, "url"),
        ({"headers": {"Webhook-Signature": "x"}}, "sets itself"),
    ],
)
def test_targets_file_errors_are_named(tmp_path, entry, expect):
    t = {"name": "a", "url": "http://127.0.0.1/x", "secret_env": "A_SECRET", **entry}
    t = {k: v for k, v in t.items() if v is not None}
    (tmp_path / "t.yaml").write_text(yaml.safe_dump({"targets": [t]}))
    with pytest.raises(ConfigError) as err:
        load(tmp_path / "t.yaml")
    assert "LEPTON_RELAY_TARGETS" in str(err.value) and expect in str(err.value)


def test_duplicate_target_names_and_empty_files_are_refused(tmp_path):
    t = {"name": "a", "url": "http://127.0.0.1/x", "secret_env": "A"}
    (tmp_path / "d.json").write_text(json.dumps({"targets": [t, t]}))
    (tmp_path / "e.yaml").write_text("targets: []\n")
    for name in ("d.json", "e.yaml"):
        with pytest.raises(ConfigError):
            load(tmp_path / name)


def test_secret_comes_from_env_or_its_file_and_must_be_whsec(tmp_path):
    t = target()
    assert t.secret({"T_SECRET": SECRET}) == bytes(range(32))
    (tmp_path / "sec").write_text(SECRET + "\n")
    assert t.secret({"T_SECRET_FILE": str(tmp_path / "sec")}) == bytes(range(32))
    assert target(secret_env=None, secret_file=tmp_path / "sec").secret({}) == bytes(range(32))
    for bad in ({}, {"T_SECRET": "plain"}, {"T_SECRET": "whsec_!!notbase64"}, {"T_SECRET": "whsec_c2hvcnQ="}):
        with pytest.raises(ConfigError):
            t.secret(bad)


def test_url_from_a_variable_for_urls_that_carry_a_token(tmp_path):
    t = target(url=None, url_env="HOOK_URL")
    assert t.endpoint({"HOOK_URL": "https://hooks.example/T0/B1/xyz"}) == "https://hooks.example/T0/B1/xyz"
    (tmp_path / "u").write_text("https://hooks.example/secret-path\n")
    assert t.endpoint({"HOOK_URL_FILE": str(tmp_path / "u")}) == "https://hooks.example/secret-path"
    for bad in ({}, {"HOOK_URL": "not a url"}):
        with pytest.raises(ConfigError):
            t.endpoint(bad)
    with pytest.raises(ValueError, match="exactly one of url or url_env"):
        target(url_env="HOOK_URL")


def test_decode_secret_accepts_what_the_reference_library_generates():
    raw = new_secret()
    assert decode_secret(raw) == base64.b64decode(raw[6:])


# ------------------------------------------------------------------ routing


def test_routing_by_kind_severity_subject_and_status():
    a = orjson.loads(alert(1, kind="propagated_risk", severity="medium", subject="AAPL"))
    assert target().wants(a)
    assert target(kinds=["propagated_risk"]).wants(a) and not target(kinds=["intent_surge"]).wants(a)
    assert target(min_severity="medium").wants(a) and not target(min_severity="high").wants(a)
    assert target(subjects=["AAPL"]).wants(a) and target(subjects=["MSFT", "AA*"]).wants(a)
    assert not target(subjects=["aapl"]).wants(a)  # case matters: subjects are ids
    assert not target(subjects=["AAP"]).wants(a)
    resolved = {**a, "status": "resolved"}
    assert target().wants(resolved) and not target(send_resolved=False).wants(resolved)
    assert not target().wants({**a, "severity": "bogus"})


# ------------------------------------------------------------------ signing


def test_signature_verifies_with_the_reference_library_and_by_hand():
    body = alert(1)
    h = signing.headers(decode_secret(SECRET), "msg_x", body)
    r = Received(h, body, 0.0, 200)
    assert verify(SECRET, r)["alert_id"] == orjson.loads(body)["alert_id"]
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body + b" ", h)  # one byte more: refused
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, h)


def test_signature_matches_the_reference_signer():
    ts = 1_700_000_000
    ours = signing.signature(decode_secret(SECRET), "msg_1", ts, b'{"a":1}')
    assert ours == Webhook(SECRET).sign("msg_1", datetime.fromtimestamp(ts, UTC), b'{"a":1}')


def test_webhook_id_is_stable_per_alert_state():
    a = orjson.loads(alert(1))
    # A worker's record carries its lifecycle state (Alert's defaults: firing, sequence 1); one without it
    # (published before the lifecycle) is signed under its bare id.
    assert signing.webhook_id(a) == signing.webhook_id(dict(a)) == f"msg_{a['alert_id']}_firing_1"
    bare = {k: v for k, v in a.items() if k not in ("status", "sequence")}
    assert signing.webhook_id(bare) == f"msg_{a['alert_id']}"
    firing = signing.webhook_id({**a, "status": "firing", "sequence": 1})
    update = signing.webhook_id({**a, "status": "firing", "sequence": 2})
    resolved = signing.webhook_id({**a, "status": "resolved", "sequence": 3})
    assert len({firing, update, resolved}) == 3
    assert firing == signing.webhook_id({**a, "status": "firing", "sequence": 1, "score": 0.1})
    assert all(set(i) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") for i in
               (firing, signing.webhook_id({**a, "status": "a b/c"})))  # fmt: skip


# ------------------------------------------------------------------ backoff, Retry-After, token bucket


def test_backoff_is_full_jitter_under_an_exponential_cap():
    rng = random.Random(7)
    for attempt, cap in [(1, 0.5), (2, 1.0), (3, 2.0), (6, 16.0), (7, 30.0), (50, 30.0)]:
        delays = [backoff_delay(attempt, 0.5, 30.0, rng.random) for _ in range(2000)]
        assert min(delays) >= 0 and max(delays) < cap
        assert max(delays) > 0.9 * cap and min(delays) < 0.1 * cap  # the whole range, not a fixed delay
    assert backoff_delay(3, 0.5, 30.0, lambda: 1.0) == 2.0


def test_retry_after_seconds_and_http_date():
    assert retry_after_s("7") == 7.0 and retry_after_s(" 0 ") == 0.0
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    when = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert retry_after_s(when, now=now.timestamp()) == 30.0
    assert retry_after_s(format_datetime(now - timedelta(seconds=5), usegmt=True), now=now.timestamp()) == 0.0
    assert retry_after_s(None) is None and retry_after_s("soon") is None and retry_after_s("-3") is None


def test_token_bucket_allows_a_burst_then_the_rate():
    clock = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        clock[0] += s

    b = TokenBucket(rate=4, burst=2, clock=lambda: clock[0], sleep=sleep)
    takes = []
    for _ in range(10):
        b.take()
        takes.append(clock[0])
    assert takes[:2] == [0.0, 0.0]  # the burst
    assert takes[-1] == pytest.approx(2.0)  # then 4 a second: 8 more take 2 s
    gaps = [b - a for a, b in zip(takes[2:], takes[3:], strict=False)]
    assert all(g == pytest.approx(0.25) for g in gaps)


def test_token_bucket_refills_only_up_to_the_burst():
    clock = [0.0]
    b = TokenBucket(rate=10, burst=3, clock=lambda: clock[0], sleep=lambda s: None)
    clock[0] = 100.0
    assert [b.try_take() for _ in range(4)] == [True, True, True, False]


# ------------------------------------------------------------------ payloads


def test_lepton_payload_is_the_record_as_published():
    raw = alert(1, status="firing", fingerprint="f00d", sequence=4)
    assert payload.lepton(raw) == raw


def test_alertmanager_v4_payload_shape():
    a = orjson.loads(alert(2, kind="propagated_risk", severity="critical", subject="AAPL",
                           propagated_from={"entity": "TSM", "path": ["TSM", "AAPL"], "weight": 0.8}))  # fmt: skip
    body = orjson.loads(payload.alertmanager(a, "risk-desk", "https://lepton.example",
                                             "https://lepton.example/alerts/{alert_id}?s={subject}"))  # fmt: skip
    assert set(body) == {"version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels",
                         "commonLabels", "commonAnnotations", "externalURL", "alerts"}  # fmt: skip
    assert body["version"] == "4" and body["status"] == "firing" and body["receiver"] == "risk-desk"
    assert body["groupLabels"] == {"alertname": "propagated_risk", "subject": "AAPL"}
    assert body["groupKey"] == '{}:{alertname="propagated_risk", subject="AAPL"}'
    assert body["externalURL"] == "https://lepton.example"
    (am,) = body["alerts"]
    assert set(am) == {"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"}
    assert am["labels"]["alertname"] == "propagated_risk" and am["labels"]["severity"] == "critical"
    assert am["labels"]["propagated_from"] == "TSM" and body["commonLabels"] == am["labels"]
    assert all(isinstance(v, str) for v in [*am["labels"].values(), *am["annotations"].values()])
    assert am["annotations"]["description"] == a["explanation"] and am["annotations"]["alert_id"] == a["alert_id"]
    assert am["startsAt"] == a["window"]["start"].replace("+00:00", "Z") and am["startsAt"].endswith("Z")
    assert am["endsAt"] == "0001-01-01T00:00:00Z"
    assert am["generatorURL"] == f"https://lepton.example/alerts/{a['alert_id']}?s=AAPL"
    assert len(am["fingerprint"]) == 16 and int(am["fingerprint"], 16) >= 0
    # The same incident keeps its fingerprint across windows (what Alertmanager receivers group by).
    later = orjson.loads(payload.alertmanager({**a, "alert_id": "0" * 32, "score": 0.99}, "r"))
    assert later["alerts"][0]["fingerprint"] == am["fingerprint"]


def test_alertmanager_payload_follows_lifecycle_fields_when_present():
    a = orjson.loads(alert(3, status="resolved", starts_at="2026-03-02T09:00:00Z",
                           ends_at="2026-03-02T10:05:00+00:00", fingerprint="abc123"))  # fmt: skip
    body = orjson.loads(payload.alertmanager(a, "r"))
    (am,) = body["alerts"]
    assert body["status"] == am["status"] == "resolved"
    assert am["startsAt"] == "2026-03-02T09:00:00Z" and am["endsAt"] == "2026-03-02T10:05:00Z"
    assert am["fingerprint"] == "abc123"


def test_the_shipped_example_and_the_documented_targets_file_load(tmp_path):
    root = Path(__file__).resolve().parents[2]
    example = load(root / "deploy" / "relay" / "targets.example.yaml")
    assert {t.format for t in example} == {"lepton", "alertmanager"}
    block = (root / "docs" / "alerts.md").read_text().split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "documented.yaml").write_text(block)
    assert [t.name for t in load(tmp_path / "documented.yaml")] == ["risk-desk", "alertmanager-bridge"]


def test_alert_rendering_is_the_demos():
    from lepton_stream.alerts import render
    from lepton_stream.tooling import demo

    a = orjson.loads(alert(0))
    assert render.lines(a) == [
        "  [    high] sentiment_spike  TSM Corp                       09:00-09:05 score 0.93 firing",
        "             negative mentions of TSM rose to 12 (baseline 1.5)",
        '             evidence: news-0 "Fab fire halts output"',
    ]
    assert render.lines({**a, "status": "resolved"})[0].endswith("score 0.93 resolved")
    assert "render.lines" in Path(demo.__file__).read_text()  # one renderer for the demo and `alerts tail`
