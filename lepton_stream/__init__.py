"""Lepton Stream: a streaming-ML worker service for text."""

import os

# No model-hub traffic at run time: every model comes from an installed package or a local bundle.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

__version__ = "0.1.0"
