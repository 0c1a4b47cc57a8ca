"""`shipnotify dev`: Apache Kafka and redis-server on loopback, every service, a demo courier."""
