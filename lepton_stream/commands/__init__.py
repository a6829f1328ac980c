"""CLI command groups, one module each (see lepton_stream/cli.py)."""
