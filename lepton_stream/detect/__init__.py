"""Streaming anomaly detectors with explicit, JSON-serialisable state (see docs/detect.md)."""

from lepton_stream.detect.context import ContextDetector, ContextParams
from lepton_stream.detect.share import ShareDetector, ShareParams
from lepton_stream.detect.spike import SpikeDetector, SpikeParams

__all__ = ["ContextDetector", "ContextParams", "ShareDetector", "ShareParams", "SpikeDetector", "SpikeParams"]
