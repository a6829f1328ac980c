"""The relay's targets file (YAML or JSON): where alerts go, which ones, in what format, signed with what.

Secrets never sit in the file: a target names an environment variable (`secret_env`, which may itself be
supplied as `<NAME>_FILE`, like every secret of the service) or a mounted file (`secret_file`). A key the file
does not know is an error, so a misspelt `min_severity` cannot silently route everything.
"""

from __future__ import annotations

import base64
import json
import re
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from lepton_stream.config import ConfigError, SecretError, read_secret

SEVERITIES = ("low", "medium", "high", "critical")
Severity = Literal["low", "medium", "high", "critical"]
SECRET_PREFIX = "whsec_"
Url = Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]


class Target(BaseModel):
    """One webhook endpoint and the alerts it gets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    url: Url | None = None
    url_env: str | None = None  # a variable holding the URL (or <NAME>_FILE): for URLs that carry a token
    format: Literal["lepton", "alertmanager"] = "lepton"
    secret_env: str | None = None
    secret_file: Path | None = None
    # Routing: an alert goes to this target when every given condition holds (unset: any).
    kinds: list[str] | None = None
    min_severity: Severity = "low"
    subjects: list[str] | None = None  # exact subjects or shell-style globs (`AAPL*`, `intent:card_*`)
    send_resolved: bool = True  # alerts whose status is `resolved` too (Alertmanager's option of that name)
    # Delivery
    timeout_s: float = Field(10.0, gt=0, le=300)
    max_attempts: int = Field(6, ge=1, le=100)
    max_elapsed_s: float = Field(60.0, gt=0, le=3600)  # retry budget of one alert, from its first post
    backoff_initial_s: float = Field(0.5, gt=0, le=60)
    backoff_max_s: float = Field(30.0, gt=0, le=600)
    rate_per_s: float = Field(10.0, gt=0)  # posts per second, retries included (token bucket)
    burst: int = Field(10, ge=1)
    headers: dict[str, str] = {}
    external_url: str = ""  # Alertmanager payload: externalURL (a link back to where alerts are seen)
    generator_url: str = ""  # Alertmanager payload: generatorURL; `{subject}` and `{alert_id}` are filled in

    @field_validator("headers")
    @classmethod
    def _no_signature_headers(cls, v: dict[str, str]) -> dict[str, str]:
        clash = sorted(h for h in v if h.lower().startswith("webhook-") or h.lower() == "content-type")
        if clash:
            raise ValueError(f"headers the relay sets itself: {clash}")
        return v

    @model_validator(mode="after")
    def _one_secret_source(self) -> Target:
        if (self.secret_env is None) == (self.secret_file is None):
            raise ValueError("give the signing secret as exactly one of secret_env (a variable's name) or secret_file")
        return self

    @model_validator(mode="after")
    def _one_url_source(self) -> Target:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give exactly one of url or url_env (a variable holding the URL)")
        return self

    def endpoint(self, environ: dict[str, str] | None = None) -> str:
        """The URL posts go to: `url`, or the value of `url_env`. Raises ConfigError when missing or malformed."""
        if self.url is not None:
            return self.url
        try:
            url = (read_secret(str(self.url_env), environ) or "").strip()
        except SecretError as exc:
            raise ConfigError(f"relay target {self.name}: cannot read its URL: {exc}") from None
        if not re.fullmatch(r"https?://\S+", url):
            raise ConfigError(f"relay target {self.name}: {self.url_env} does not hold an http(s) URL")
        return url

    def wants(self, alert: dict[str, Any]) -> bool:
        """Whether this target gets the alert (a decoded alert record)."""
        if self.kinds is not None and alert.get("kind") not in self.kinds:
            return False
        if severity_rank(alert.get("severity")) < severity_rank(self.min_severity):
            return False
        if not self.send_resolved and alert.get("status") == "resolved":
            return False
        subject = str(alert.get("subject", ""))
        return self.subjects is None or any(fnmatchcase(subject, p) for p in self.subjects)

    def secret(self, environ: dict[str, str] | None = None) -> bytes:
        """The signing key: a `whsec_`-prefixed base64 string, decoded. Raises ConfigError when missing."""
        return decode_secret(self.secret_text(environ), self.name)

    def secret_text(self, environ: dict[str, str] | None = None) -> str:
        """The secret as given (`whsec_...`), for the key and for log redaction."""
        try:
            if self.secret_file is not None:
                raw = self.secret_file.read_text(encoding="utf-8").strip()
            else:
                raw = (read_secret(str(self.secret_env), environ) or "").strip()
        except (OSError, SecretError) as exc:
            raise ConfigError(f"relay target {self.name}: cannot read its secret: {exc}") from None
        return raw


class TargetsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    targets: list[Target] = Field(min_length=1)

    @field_validator("targets")
    @classmethod
    def _unique_names(cls, v: list[Target]) -> list[Target]:
        names = [t.name for t in v]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"target names must be unique: {dupes}")
        return v


def severity_rank(severity: object) -> int:
    """low 0 ... critical 3; anything else -1, below every threshold: such an alert is routed nowhere."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else -1


def decode_secret(raw: str, name: str = "?") -> bytes:
    """A Standard Webhooks secret (`whsec_` + base64 of at least 24 bytes) as its key bytes."""
    if not raw.startswith(SECRET_PREFIX):
        raise ConfigError(f"relay target {name}: the secret must start with {SECRET_PREFIX!r} (Standard Webhooks)")
    try:
        key = base64.b64decode(raw[len(SECRET_PREFIX):], validate=True)
    except ValueError:
        raise ConfigError(f"relay target {name}: the secret after {SECRET_PREFIX!r} is not base64") from None
    if len(key) < 24:
        raise ConfigError(f"relay target {name}: the secret is {len(key)} bytes; at least 24 (192 bits) are needed")
    return key


def load(path: Path) -> list[Target]:
    """Read and validate a targets file (`.json`: JSON; anything else: YAML, of which JSON is a subset)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"LEPTON_RELAY_TARGETS: cannot read {path}: {exc.strerror}") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"LEPTON_RELAY_TARGETS: {path} is not valid {path.suffix[1:] or 'YAML'}: {exc}") from None
    try:
        return TargetsFile.model_validate(data).targets
    except ValidationError as exc:
        lines = [f"  {'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()]
        raise ConfigError(f"LEPTON_RELAY_TARGETS: invalid {path}:\n" + "\n".join(lines)) from None
