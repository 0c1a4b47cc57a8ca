"""What the Kafka consumer deployables (tracker, notifier) share: start-up and probes."""
