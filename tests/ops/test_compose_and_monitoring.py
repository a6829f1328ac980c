"""deploy/docker-compose.yml, Prometheus rules/config and the Grafana dashboard against the code."""

from __future__ import annotations

import json
import re

import yaml
from prometheus_client.metrics import MetricWrapperBase

from lepton_stream import metrics

from .conftest import DEPLOY, setting_name_ok, settings_from_env

WORKERS = {"news-worker": "news", "chat-worker": "chat"}
SUFFIXES = {"counter": ("_total", "_created"), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count", "_created"),
            "info": ("_info",), "summary": ("", "_sum", "_count", "_created")}


def exported_names() -> set[str]:
    names = set()
    for obj in vars(metrics).values():
        if isinstance(obj, MetricWrapperBase):
            for fam in obj.describe():
                names |= {fam.name + s for s in SUFFIXES[fam.type]}
    return names


def used_names(text: str) -> set[str]:
    return set(re.findall(r"\blepton_[a-z0-9_]+\b", text))


def duration_s(v: str) -> float:
    m = re.fullmatch(r"(\d+)(ms|s|m|h)", v)
    assert m, v
    return int(m[1]) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m[2]]


# ------------------------------------------------------------------ compose


def test_compose_runs_kraft_kafka_redis_workers_and_monitoring(compose):
    svcs = compose["services"]
    assert {"kafka", "redis", "news-worker", "chat-worker", "prometheus", "grafana"} <= set(svcs)
    kafka = svcs["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = kafka["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert "CONTROLLER" in env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert "zookeeper" not in yaml.safe_dump(compose).lower()
    assert svcs["redis"]["healthcheck"]


def test_compose_workers_use_only_real_settings(compose):
    for svc, kind in WORKERS.items():
        w = compose["services"][svc]
        env = {k: str(v) for k, v in w["environment"].items()}
        bad = [k for k in env if not setting_name_ok(k)]
        assert not bad, f"{svc}: not settings in lepton_stream/config.py: {bad}"
        s = settings_from_env(env)
        assert w["command"] == ["run", kind]
        assert w["deploy"]["replicas"] >= 2
        assert duration_s(w["stop_grace_period"]) > s.max_poll_interval_ms / 1000
        # The Redis URL (with its password) arrives as a mounted secret, not an env value.
        assert "LEPTON_REDIS_URL" not in env and env["LEPTON_REDIS_URL_FILE"] == "/run/secrets/redis_url"
        assert "redis_url" in w["secrets"]
        assert env["LEPTON_KAFKA_BOOTSTRAP"].split(":")[0] == "kafka"


def test_compose_topics_have_room_for_the_replicas(compose):
    script = "\n".join(compose["services"]["kafka-init"]["command"])
    for svc, kind in WORKERS.items():
        topic = settings_from_env({})  # defaults: compose does not rename topics
        raw = getattr(topic, f"topic_{kind}_raw")
        line = next(ln for ln in script.splitlines() if raw in ln.split("do")[0])
        partitions = int(re.search(r"--partitions (\d+)", line)[1])
        assert partitions >= compose["services"][svc]["deploy"]["replicas"]


def test_compose_secrets_come_from_git_ignored_files(compose):
    for name, spec in compose["secrets"].items():
        assert spec["file"].startswith("./secrets/"), name
    assert "secrets/" in (DEPLOY / ".gitignore").read_text().split()
    script = (DEPLOY / "dev-secrets.sh").read_text()
    for name in compose["secrets"]:
        assert f"$dir/{name}" in script, f"dev-secrets.sh does not create {name}"
    text = (DEPLOY / "docker-compose.yml").read_text()
    assert not re.search(r"(?i)(password|requirepass)\s*[:=]?\s*['\"]?[A-Za-z0-9]{8,}", text.replace("__FILE", ""))


def test_compose_mounted_files_exist(compose):
    for svc in ("prometheus", "grafana"):
        for vol in compose["services"][svc]["volumes"]:
            src = vol.split(":")[0]
            if src.startswith("./"):
                assert (DEPLOY / src).exists(), src


# ------------------------------------------------------------------ prometheus


def test_scrape_config_targets_the_workers_metrics_port(compose):
    prom = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    (job,) = prom["scrape_configs"]
    (sd,) = job["dns_sd_configs"]
    assert set(sd["names"]) == set(WORKERS)
    for svc in WORKERS:
        assert sd["port"] == int(compose["services"][svc]["environment"]["LEPTON_METRICS_PORT"])
    assert prom["rule_files"] == ["/etc/prometheus/alerts.yml"]
    assert any(v.endswith(":/etc/prometheus/alerts.yml:ro") for v in compose["services"]["prometheus"]["volumes"])


def test_alert_rules_cover_the_issue_and_use_real_metrics():
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    alerts = {r["alert"]: r for g in rules["groups"] for r in g["rules"]}
    needed = {"LeptonConsumerLagGrowing", "LeptonDeadLetterRate", "LeptonPartitionNoProgress", "LeptonRedisErrors"}
    assert needed <= set(alerts)
    known = exported_names()
    for name, r in alerts.items():
        expr = r["expr"]
        assert r["labels"]["severity"] in ("warning", "critical") and r["annotations"]["summary"], name
        unknown = used_names(expr) - known
        assert not unknown, f"{name} uses metrics not defined in lepton_stream/metrics.py: {unknown}"
        for open_, close in ("()", "[]", "{}"):
            assert expr.count(open_) == expr.count(close), f"{name}: unbalanced {open_}{close}"
        if "for" in r:
            duration_s(r["for"])
    assert "lepton_messages_dead_lettered_total" in alerts["LeptonDeadLetterRate"]["expr"]
    assert "lepton_redis_errors_total" in alerts["LeptonRedisErrors"]["expr"]
    assert "lepton_consumer_lag" in alerts["LeptonConsumerLagGrowing"]["expr"]


def test_metric_name_check_would_catch_a_typo():
    assert used_names("rate(lepton_mesages_consumed_total[5m])") - exported_names()
    assert "lepton_stage_seconds_bucket" in exported_names() and "lepton_model_info" in exported_names()


# ------------------------------------------------------------------ grafana


def test_dashboard_is_provisioned_and_built_on_real_metrics():
    dash = json.loads((DEPLOY / "grafana" / "dashboards" / "lepton-stream.json").read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    used = set().union(*(used_names(e) for e in exprs))
    assert not used - exported_names(), used - exported_names()
    # The dashboard shows every family the service exports (a new metric needs a panel).
    suffixes = ("_bucket", "_sum", "_count", "_total", "_info")
    families = used | {n.removesuffix(s) for n in used for s in suffixes if n.endswith(s)}
    for obj in vars(metrics).values():
        if isinstance(obj, MetricWrapperBase):
            (fam,) = obj.describe()
            assert fam.name in families, f"no panel for {fam.name}"
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    prov = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "dashboards" / "lepton.yml").read_text())
    assert prov["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    ds = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text())
    assert ds["datasources"][0]["url"] == "http://prometheus:9090"
