"""Redaction of secrets from every log line (secrets themselves are read by config.py, from the environment or
mounted `LEPTON_<NAME>_FILE` files).

The redactor is a structlog processor (plus a
stdlib logging filter for library loggers) that removes known secret values, URL passwords and
anything shaped like `password=...` or `Bearer ...` before a line is rendered.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import SecretStr

from lepton_stream.config import PREFIX, SecretError, Settings, read_secret_file

MASK = "***"
# Parts of a key name (split on _ - .) that mark its value as secret. Whole parts, so `max_tokens` stays.
SENSITIVE_PARTS = frozenset(
    {"password", "passwd", "pass", "pwd", "secret", "token", "apikey", "credential", "credentials",
     "authorization", "privatekey", "cookie"}
)
_URL_USERINFO = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:@/\s]*:)(?P<pw>[^@/\s]+)(?P<at>@)", re.I)
_KV = re.compile(
    r"(?P<key>\b[\w.-]*(?:pass(?:word|wd)?|secret|token|api[_-]?key|credentials?)\b[\"']?)(?P<sep>\s*[=:]\s*)"
    r"(?P<val>\"[^\"]*\"|'[^']*'|[^\s,;&}\]]+)",
    re.I,
)
_AUTH_HEADER = re.compile(r"\b(?P<scheme>bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}", re.I)


def is_sensitive_key(key: str) -> bool:
    parts = re.split(r"[_\-.\s]+", key.lower())
    joined = "".join(parts)
    return any(p in SENSITIVE_PARTS for p in parts) or "apikey" in joined or "privatekey" in joined


def secret_values(settings: Settings | None = None, environ: Mapping[str, str] | None = None) -> set[str]:
    """Every concrete secret this process knows: SecretStr settings, URL passwords, sensitive env vars."""
    env = os.environ if environ is None else environ
    values: set[str] = set()
    if settings is not None:
        for name in type(settings).model_fields:
            v = getattr(settings, name)
            if isinstance(v, SecretStr):
                values.add(v.get_secret_value())
            elif isinstance(v, str) and "://" in v:
                pw = _url_password(v)
                if pw:
                    values.update({pw, unquote(pw)})
    for var, v in env.items():
        if var.endswith("_FILE") and var.startswith(PREFIX) and is_sensitive_key(var[:-5]) and v:
            with contextlib.suppress(SecretError):
                values.add(read_secret_file(v))
        elif is_sensitive_key(var):
            values.add(v)
        elif "://" in v:
            pw = _url_password(v)
            if pw:
                values.add(pw)
    return {v for v in values if v and len(v) >= 4}  # tiny values would shred ordinary words


def _url_password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


class SecretRedactor:
    """structlog processor: `processors=[..., SecretRedactor(secret_values(settings)), renderer]`."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        merged = set(self._secrets) | {s for s in secrets if s and len(s) >= 4}
        self._secrets = sorted(merged, key=len, reverse=True)  # longest first: no partial leftovers

    def redact_text(self, text: str) -> str:
        for s in self._secrets:
            if s in text:
                text = text.replace(s, MASK)
        text = _URL_USERINFO.sub(lambda m: m["head"] + MASK + m["at"], text)
        text = _KV.sub(lambda m: m["key"] + m["sep"] + MASK, text)
        return _AUTH_HEADER.sub(lambda m: m["scheme"] + " " + MASK, text)

    def redact(self, value: Any, key: str = "") -> Any:
        if key and is_sensitive_key(key) and value not in (None, "", False):
            return MASK
        if isinstance(value, str):
            return self.redact_text(value)
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, Mapping):
            return {k: self.redact(v, str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.redact(v) for v in value]
        return self.redact_text(str(value))  # exceptions, paths, objects: the renderer would str() them anyway

    def __call__(self, logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        for k in list(event_dict):
            event_dict[k] = self.redact(event_dict[k], k)
        return event_dict


class RedactingFilter(logging.Filter):
    """Same redaction for stdlib loggers (kafka-python, redis-py), applied to the formatted message."""

    def __init__(self, redactor: SecretRedactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        if record.exc_info:
            msg += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = None
        record.msg, record.args = self.redactor.redact_text(msg), None
        return True


def install_redaction(settings: Settings | None = None, extra: Iterable[str] = ()) -> SecretRedactor:
    """Insert (or refresh) the redactor just before the renderer of the current structlog config, and on the
    root logging handlers. Call after `lepton_stream.logs.configure`. Idempotent."""
    import structlog

    procs = structlog.get_config()["processors"]
    redactor = next((p for p in procs if isinstance(p, SecretRedactor)), None)
    if redactor is None:
        redactor = SecretRedactor()
        # In place: loggers cached on first use hold this same list object.
        procs.insert(max(len(procs) - 1, 0), redactor)
    redactor.add(secret_values(settings))
    redactor.add(extra)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter(redactor))
    return redactor
