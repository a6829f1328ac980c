"""Tooling, apart from the service: training and evaluation, benchmarks and chaos, the local dev stack, replay
and synthetic streams, the demo, detector and knowledge-graph evaluation.

No worker, relay or console module imports anything here (tests/models/test_runtime_closure.py checks it), and
the CLI (lepton_stream/commands/) imports it lazily, inside the command that needs it, so `run` never loads it.
"""
