"""`shipnotify bench`: throughput and latency of the services beside the raw limits of the
parts they stand on, measured in one run."""
