"""Structured JSON logs. Callers log ids, counts and timings; never raw message text."""

from __future__ import annotations

import logging
import sys

import structlog


def configure(level: str = "INFO", fmt: str = "json", file=None) -> None:
    renderer = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level)),
        logger_factory=structlog.PrintLoggerFactory(file=file or sys.stderr),
        cache_logger_on_first_use=True,
    )
    # kafka-python logs connection chatter at INFO; keep it out of the worker's stream.
    logging.basicConfig(level=logging.WARNING, stream=file or sys.stderr, force=True)


def get(name: str) -> structlog.typing.FilteringBoundLogger:
    return structlog.get_logger(name)
