"""Streaming anomaly detectors with explicit, JSON-serialisable state (see docs/detect.md)."""

from lepton_stream.detect.spike import SpikeDetector, SpikeParams

__all__ = ["SpikeDetector", "SpikeParams"]
