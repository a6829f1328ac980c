"""Request bodies: the alert as published (`lepton`), or an Alertmanager webhook (version 4) message.

The Alertmanager form lets receivers written for Alertmanager (incident tools, chat bridges, custom handlers)
take alerts unchanged: one group per incident (kind + subject), one alert in it. Labels identify the
incident and route it (`alertname` is the kind), annotations carry what a person reads. Fields the alert
does not have yet (`status`, `starts_at`, `ends_at`, `fingerprint`) get Alertmanager's defaults: firing, the
window's start, the zero time, a hash of the labels.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

# Alertmanager's "no end time" (Go's zero time.Time), which receivers compare against.
ZERO_TIME = "0001-01-01T00:00:00Z"


def lepton(raw: bytes) -> bytes:
    """The alert record's bytes as they are: fields added to alerts later reach receivers unchanged."""
    return raw


def labels(alert: dict[str, Any]) -> dict[str, str]:
    out = {
        "alertname": str(alert["kind"]),
        "severity": str(alert.get("severity", "")),
        "subject": str(alert.get("subject", "")),
        "service": "lepton-stream",
    }
    if alert.get("subject_name"):
        out["subject_name"] = str(alert["subject_name"])
    if isinstance(alert.get("propagated_from"), dict):
        out["propagated_from"] = str(alert["propagated_from"].get("entity", ""))
    return out


def annotations(alert: dict[str, Any]) -> dict[str, str]:
    window = alert.get("window") or {}
    name = alert.get("subject_name") or alert.get("subject", "")
    out = {
        "summary": f"{alert['kind']} on {name} ({alert.get('severity', '')}, score {alert.get('score', 0):.2f})",
        "description": str(alert.get("explanation", "")),
        "alert_id": str(alert["alert_id"]),
        "score": str(alert.get("score", "")),
        "baseline": str(alert.get("baseline", "")),
        "window": f"{window.get('start', '')}/{window.get('end', '')}",
        "model_version": str(alert.get("model_version", "")),
    }
    evidence = alert.get("evidence") or []
    if evidence:
        out["evidence"] = "; ".join(f"{e.get('id')}: {e.get('text', '')[:200]}" for e in evidence[:3])
    return out


def fingerprint(alert: dict[str, Any], lab: dict[str, str]) -> str:
    """The alert's own (stable across an incident's updates) when it has one, else Alertmanager's shape: 16 hex
    digits of a hash of the labels that name the incident."""
    if alert.get("fingerprint"):
        return str(alert["fingerprint"])
    ident = "\x00".join(f"{k}={lab[k]}" for k in ("alertname", "subject", "propagated_from") if k in lab)
    return hashlib.sha256(ident.encode()).hexdigest()[:16]


def alertmanager(alert: dict[str, Any], receiver: str, external_url: str = "", generator_url: str = "") -> bytes:
    """An Alertmanager webhook v4 message holding this alert, as JSON bytes."""
    lab = labels(alert)
    ann = annotations(alert)
    status = "resolved" if alert.get("status") == "resolved" else "firing"
    starts = alert.get("starts_at") or (alert.get("window") or {}).get("start") or ZERO_TIME
    ends = alert.get("ends_at") or ZERO_TIME
    group = {"alertname": lab["alertname"], "subject": lab["subject"]}
    gen = generator_url.replace("{subject}", lab["subject"]).replace("{alert_id}", str(alert["alert_id"]))
    body = {
        "version": "4",
        "groupKey": "{}:{" + ", ".join(f'{k}="{v}"' for k, v in group.items()) + "}",
        "truncatedAlerts": 0,
        "status": status,
        "receiver": receiver,
        "groupLabels": group,
        "commonLabels": lab,
        "commonAnnotations": ann,
        "externalURL": external_url,
        "alerts": [{
            "status": status,
            "labels": lab,
            "annotations": ann,
            "startsAt": _rfc3339(starts),
            "endsAt": _rfc3339(ends),
            "generatorURL": gen,
            "fingerprint": fingerprint(alert, lab),
        }],
    }  # fmt: skip
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _rfc3339(ts: str) -> str:
    """Alerts' times as pydantic writes them (`...Z` or `+00:00`); Alertmanager writes `Z`."""
    return ts[:-6] + "Z" if ts.endswith("+00:00") else ts
