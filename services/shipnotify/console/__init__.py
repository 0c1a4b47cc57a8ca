"""console: the operators' and business customers' web console over the aggregates."""
