"""ingest: the courier- and order-system-facing HTTP API; validates and appends to Kafka."""
