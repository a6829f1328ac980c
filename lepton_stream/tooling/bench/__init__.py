"""Benchmarks and the chaos harness: throughput, latency and zero-loss figures through the real services."""
