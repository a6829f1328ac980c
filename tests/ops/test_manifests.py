"""deploy/k8s: schema validation offline, and consistency with the code's settings, ports and probes."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from .conftest import DEPLOY, setting_name_ok, settings_from_env

K8S_VERSION = "1.30"
KEDA = json.loads((Path(__file__).parent / "schemas" / "keda.json").read_text())
KINDS = ("news", "chat")


def validate(doc: dict) -> None:
    if doc["kind"] in KEDA:
        jsonschema.validate(doc, KEDA[doc["kind"]])
    else:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def by_kind(docs, kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for _, d in docs if d["kind"] == kind}


def config(docs) -> dict[str, str]:
    return by_kind(docs, "ConfigMap")["lepton-config"]["data"]


def test_every_manifest_validates_offline(k8s_docs):
    kinds = []
    for name, doc in k8s_docs:
        if doc["kind"] == "Kustomization":
            continue
        try:
            validate(doc)
        except Exception as exc:  # pragma: no cover - message for the reader
            pytest.fail(f"{name} ({doc['kind']}): {exc}")
        kinds.append(doc["kind"])
    for needed in ("Deployment", "ScaledObject", "PodDisruptionBudget"):
        assert kinds.count(needed) == 2, needed
    assert {"ConfigMap", "NetworkPolicy", "TriggerAuthentication", "ServiceAccount"} <= set(kinds)


def test_validation_rejects_broken_manifests(k8s_docs):
    dep = copy.deepcopy(by_kind(k8s_docs, "Deployment")["lepton-news"])
    dep["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}  # typo'd field
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(dep)
    so = copy.deepcopy(by_kind(k8s_docs, "ScaledObject")["lepton-news"])
    so["spec"]["triggers"][0]["metadata"]["lagThreshold"] = "lots"
    with pytest.raises(jsonschema.ValidationError):
        validate(so)


def test_kustomization_lists_every_manifest(k8s_docs):
    kust = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())
    files = {p.name for p in (DEPLOY / "k8s").glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kust["resources"]) == files


def test_configmap_holds_valid_settings_only(k8s_docs):
    data = config(k8s_docs)
    bad = [k for k in data if not setting_name_ok(k)]
    assert not bad, f"not settings in lepton_stream/config.py: {bad}"
    s = settings_from_env(data)
    assert s.metrics_port > 0
    for k, v in data.items():
        assert not any(w in k for w in ("PASSWORD", "SECRET", "TOKEN")), f"{k} belongs in a Secret"
        assert "@" not in v, f"{k} looks like it carries credentials"


def test_deployments(k8s_docs):
    data = config(k8s_docs)
    s = settings_from_env(data)
    for kind in KINDS:
        dep = by_kind(k8s_docs, "Deployment")[f"lepton-{kind}"]
        pod = dep["spec"]["template"]["spec"]
        assert "replicas" not in dep["spec"], "KEDA owns the replica count"
        assert pod["terminationGracePeriodSeconds"] > s.max_poll_interval_ms / 1000
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        (c,) = pod["containers"]
        assert c["args"] == ["run", kind]
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
        assert c["resources"]["requests"]["cpu"] and c["resources"]["limits"]["memory"]
        port = next(p for p in c["ports"] if p["name"] == "metrics")["containerPort"]
        assert port == s.metrics_port
        assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
        assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
        anns = dep["spec"]["template"]["metadata"]["annotations"]
        assert anns["prometheus.io/port"] == str(port)
        env = {e["name"]: e for e in c["env"]}
        bad = [n for n in env if not setting_name_ok(n)]
        assert not bad, f"not settings in lepton_stream/config.py: {bad}"
        for name, e in env.items():
            if any(w in name for w in ("PASSWORD", "REDIS_URL")):
                assert name.endswith("_FILE") or "valueFrom" in e, f"{name} must come from a Secret"
        # Every secret file the env points at is mounted from a Secret volume holding that key.
        vols = {v["name"]: v for v in pod["volumes"]}
        mounts = {m["mountPath"]: vols[m["name"]] for m in c["volumeMounts"]}
        for name, e in env.items():
            if name.endswith(("_FILE", "_CAFILE")):
                folder, _, key = e["value"].rpartition("/")
                items = {i["path"] for i in mounts[folder]["secret"]["items"]}
                assert key in items, f"{name} -> {e['value']} is not mounted"
        assert mounts["/models"]["persistentVolumeClaim"]["readOnly"] is True


def test_scaled_objects_match_groups_topics_and_partitions(k8s_docs):
    data = config(k8s_docs)
    s = settings_from_env(data)
    deps = by_kind(k8s_docs, "Deployment")
    auths = by_kind(k8s_docs, "TriggerAuthentication")
    for kind in KINDS:
        so = by_kind(k8s_docs, "ScaledObject")[f"lepton-{kind}"]
        spec = so["spec"]
        partitions = int(so["metadata"]["annotations"]["lepton.io/topic-partitions"])
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"] <= partitions
        assert spec["scaleTargetRef"]["name"] in deps
        (trig,) = spec["triggers"]
        meta = trig["metadata"]
        assert trig["type"] == "kafka" and trig["authenticationRef"]["name"] in auths
        assert meta["consumerGroup"] == f"{s.group_prefix}-{kind}"
        assert meta["topic"] == getattr(s, f"topic_{kind}_raw")
        assert meta["bootstrapServers"] == s.kafka_bootstrap
        assert int(meta["lagThreshold"]) > int(meta["activationLagThreshold"]) >= 0
        assert meta["allowIdleConsumers"] == "false"
        # Secrets KEDA reads are the ones the pods mount.
        secret_names = {r["name"] for r in auths[trig["authenticationRef"]["name"]]["spec"]["secretTargetRef"]}
        pod_secrets = {v["secret"]["secretName"] for v in deps[f"lepton-{kind}"]["spec"]["template"]["spec"]["volumes"]
                       if "secret" in v}
        assert secret_names <= pod_secrets


def test_pdb_and_network_policy_select_the_workers(k8s_docs):
    deps = by_kind(k8s_docs, "Deployment")
    pod_labels = {n: d["spec"]["template"]["metadata"]["labels"] for n, d in deps.items()}
    for name, pdb in by_kind(k8s_docs, "PodDisruptionBudget").items():
        sel = pdb["spec"]["selector"]["matchLabels"]
        assert sel.items() <= pod_labels[name].items()
        assert pdb["spec"]["maxUnavailable"] == 1
    (np,) = by_kind(k8s_docs, "NetworkPolicy").values()
    sel = np["spec"]["podSelector"]["matchLabels"]
    assert all(sel.items() <= labels.items() for labels in pod_labels.values())
    assert set(np["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    ingress_ports = {p["port"] for rule in np["spec"]["ingress"] for p in rule["ports"]}
    assert ingress_ports == {settings_from_env(config(k8s_docs)).metrics_port}
    egress_ports = {p["port"] for rule in np["spec"]["egress"] for p in rule["ports"]}
    assert {53, 6379}.issubset(egress_ports)
    assert any(int(b.rpartition(":")[2]) in egress_ports for b in config(k8s_docs)["LEPTON_KAFKA_BOOTSTRAP"].split(","))
