"""The local stack for the demo and tests: a real Kafka-protocol broker (tansu) and a Redis."""
