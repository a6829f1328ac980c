"""Operations: health/readiness, the metrics+probe HTTP server, secrets handling and client security settings."""
