"""Everything that talks to Kafka lives here, behind small factory functions."""
